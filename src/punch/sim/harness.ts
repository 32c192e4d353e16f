/**
 * Drives real punchers and path monitors over a SimNetwork: one SimPeer per daemon, wired the way
 * the daemon wires them (the puncher until it has a result, then a PathMonitor on the chosen path,
 * both sharing the peer's DiscoChannel), with each core's timer scheduled on the virtual clock.
 * `twoPeerWorld` builds the usual scene: an introducer, two NATs, a host behind each, registered.
 */
import type { Endpoint } from "../../util/addr.js";
import type { Millis } from "../../util/clock.js";
import type { Candidate } from "../../wire/candidate.js";
import type { DiscoChannel } from "../disco-channel.js";
import { type MonitorOutput, PathMonitor } from "../path-monitor.js";
import { type PunchOptions, type PunchOutput, UdpPuncher } from "../udp-puncher.js";
import { type SimFiltering, type SimMapping, SimNat } from "./nat.js";
import { SimNetwork } from "./network.js";

export const SIM_INTRODUCER: Endpoint = { host: "198.51.100.1", port: 3478 };
export const SIM_PORT = 41641;

type Result = Extract<PunchOutput, { type: "connected" | "failed" }>;

export class SimPeer {
  puncher?: UdpPuncher;
  monitor?: PathMonitor;
  result?: Result;
  resultAt?: Millis;
  readonly monitorEvents: MonitorOutput[] = [];
  /** Sends by the puncher (`by: "punch"`) and by the monitor. */
  readonly sends: Array<{ at: Millis; to: Endpoint; ttl?: number; by: "punch" | "monitor" }> = [];
  srflx?: Endpoint;
  private timerGen = 0;

  constructor(
    readonly net: SimNetwork,
    readonly name: string,
    readonly ip: string,
    readonly channel: DiscoChannel,
    nat?: SimNat,
  ) {
    net.addHost(ip, nat).receive = (p, from, now) => this.onPacket(p, from, now);
  }

  /** Registers with the introducer, which records the public endpoint it saw (in `observed`). */
  register(observed: Map<string, Endpoint>): void {
    this.net.send(this.ip, SIM_PORT, Buffer.from(this.name), SIM_INTRODUCER);
    this.net.at(this.net.now + 100, () => {
      this.srflx = observed.get(this.name);
    });
  }

  punch(candidates: Candidate[], startAt: Millis, opts: PunchOptions = {}): void {
    this.puncher = new UdpPuncher(this.channel, candidates, startAt, { ourSrflx: this.srflx, ...opts });
    this.apply(this.puncher.start(this.net.now));
  }

  private onPacket(p: Buffer, from: Endpoint, now: Millis): void {
    if (this.monitor) this.apply(this.monitor.handle(p, from, now));
    else if (this.puncher) this.apply(this.puncher.handle(p, from, now));
  }

  private apply(outs: Array<PunchOutput | MonitorOutput>): void {
    const by = this.monitor ? "monitor" : "punch";
    for (const o of outs) {
      if (o.type === "send") {
        const ttl = "ttl" in o ? o.ttl : undefined;
        this.sends.push({ at: this.net.now, to: o.to, ttl, by });
        this.net.send(this.ip, SIM_PORT, o.packet, o.to, ttl);
      } else if (o.type === "connected" || o.type === "failed") {
        this.result = o;
        this.resultAt = this.net.now;
        if (o.type === "connected")
          this.monitor = new PathMonitor(this.channel, o.endpoint, this.net.now, { initialRttMs: o.rttMs });
      } else this.monitorEvents.push(o);
    }
    const core = this.monitor ?? this.puncher;
    const t = core?.nextTimer();
    if (!core || t === undefined) return;
    const gen = ++this.timerGen;
    this.net.at(t, () => {
      if (gen === this.timerGen) this.apply((this.monitor ?? core).tick(this.net.now));
    });
  }
}

export interface SimSide {
  mapping?: SimMapping;
  filtering?: SimFiltering;
  remap?: boolean;
  /** When this side gets the introduction, and its start instant (the two estimates may differ). */
  introAt?: Millis;
  startAt?: Millis;
  opts?: PunchOptions;
}

/** Two peers behind their own NATs (a: 192.0.2.10, b: 203.0.113.20), registered, then introduced. */
export function twoPeerWorld(
  a: SimSide,
  b: SimSide,
  channels: [DiscoChannel, DiscoChannel],
  net = new SimNetwork(),
) {
  const observed = new Map<string, Endpoint>();
  net.addHost(SIM_INTRODUCER.host).receive = (p, from) => observed.set(p.toString(), from);
  const nat = (ip: string, s: SimSide) =>
    net.addNat(
      new SimNat({
        publicIp: ip,
        mapping: s.mapping ?? "endpoint-independent",
        filtering: s.filtering ?? "address-port",
        remapOnUnsolicited: s.remap ?? false,
      }),
    );
  const natA = nat("192.0.2.10", a);
  const natB = nat("203.0.113.20", b);
  const pa = new SimPeer(net, "a", "10.0.0.2", channels[0], natA);
  const pb = new SimPeer(net, "b", "10.1.0.2", channels[1], natB);
  // Registration happens before any loss the test configures.
  const loss = net.lossRate;
  net.lossRate = 0;
  pa.register(observed);
  pb.register(observed);
  net.runUntil(200);
  net.lossRate = loss;
  const cands = (p: SimPeer): Candidate[] => [
    { kind: "srflx", endpoint: p.srflx! },
    { kind: "host", endpoint: { host: p.ip, port: SIM_PORT } },
  ];
  net.at(a.introAt ?? 300, () => pa.punch(cands(pb), a.startAt ?? 400, a.opts));
  net.at(b.introAt ?? 300, () => pb.punch(cands(pa), b.startAt ?? 400, b.opts));
  return { net, pa, pb, natA, natB };
}
