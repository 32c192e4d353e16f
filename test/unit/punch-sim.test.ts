/**
 * Two punchers (then path monitors) talking through the simulated internet of src/punch/sim:
 * real sealed disco packets, NAT models, a virtual clock. Each scenario is one introduction.
 */
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { DiscoChannel } from "../../src/punch/disco-channel.js";
import {
  SIM_INTRODUCER,
  SIM_PORT,
  SimPeer,
  type SimSide,
  twoPeerWorld,
} from "../../src/punch/sim/harness.js";
import { SimNat } from "../../src/punch/sim/nat.js";
import { SimNetwork } from "../../src/punch/sim/network.js";
import type { Endpoint } from "../../src/util/addr.js";

/** The two ends of one peer pair's disco channel. */
function channels(): [DiscoChannel, DiscoChannel] {
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  return [
    new DiscoChannel(
      new StaticBox(ka.privateKey, ka.publicKey, kb.publicKey, "disco", 1),
      ka.publicKey,
      kb.publicKey,
    ),
    new DiscoChannel(
      new StaticBox(kb.privateKey, kb.publicKey, ka.publicKey, "disco", 1),
      kb.publicKey,
      ka.publicKey,
    ),
  ];
}

const world = (a: SimSide, b: SimSide) => twoPeerWorld(a, b, channels());

describe("punching through simulated NATs", () => {
  it("connects two home routers (endpoint-independent mapping, port-restricted filtering) over srflx", () => {
    const { net, pa, pb } = world({}, {});
    net.runUntil(2_000);
    expect(pa.result).toMatchObject({ type: "connected", candidateKind: "srflx", endpoint: pb.srflx });
    expect(pb.result).toMatchObject({ type: "connected", candidateKind: "srflx", endpoint: pa.srflx });
    if (pa.result?.type !== "connected") throw new Error("unreachable");
    expect(pa.result.rttMs).toBeGreaterThanOrEqual(40); // two WAN crossings of 20 ms
    expect(pa.result.natHint.ours).toBe("endpoint-independent");
    expect(pa.result.observedSelf).toEqual(pa.srflx);
  });

  it("the primer wins the remap race: a peer that starts early does not make our NAT re-map", () => {
    // b's start estimate is 120 ms early: its pings reach a's NAT before a sends anything.
    const sides = (primerTtl: number): [SimSide, SimSide] => [
      { remap: true, startAt: 520, opts: { primerTtl } },
      { remap: true, startAt: 400, opts: { primerTtl } },
    ];
    const without = world(...sides(0));
    without.net.runUntil(12_000);
    expect(without.natA.counters.remapped).toBeGreaterThan(0);
    expect(without.pa.result?.type).toBe("failed");
    expect(without.pb.result?.type).toBe("failed");

    const primed = world(...sides(2));
    primed.net.runUntil(12_000);
    expect(primed.natA.counters.remapped).toBe(0);
    expect(primed.pa.result).toMatchObject({ type: "connected", candidateKind: "srflx" });
    expect(primed.pb.result).toMatchObject({ type: "connected", candidateKind: "srflx" });
  });

  it("the primer leaves our NAT but dies before the far NAT", () => {
    const { net, pa, natB } = world({ introAt: 300, startAt: 5_000 }, { introAt: 4_000, startAt: 5_000 });
    net.runUntil(1_000); // only a's primers have been sent so far
    expect(pa.sends.length).toBeGreaterThan(0);
    expect(pa.sends.every((s) => s.ttl === 2)).toBe(true);
    expect(natB.arrivals.filter((x) => x.from.port !== SIM_INTRODUCER.port)).toEqual([]);
    expect(net.drops.ttl).toBe(pa.sends.length);
  });

  it("a primer with a TTL long enough to reach the far NAT makes it re-map (why the TTL is short)", () => {
    // b hears of the introduction 100 ms after a: a's primer reaches natB before b's own packets left.
    const sides = (primerTtl: number): [SimSide, SimSide] => [
      { remap: true, introAt: 300, opts: { primerTtl } },
      { remap: true, introAt: 400, startAt: 400, opts: { primerTtl } },
    ];
    const long = world(...sides(5));
    long.net.runUntil(12_000);
    expect(long.natB.counters.remapped).toBeGreaterThan(0);
    expect(long.pa.result?.type).toBe("failed");
    const short = world(...sides(2));
    short.net.runUntil(12_000);
    expect(short.natB.counters.remapped).toBe(0);
    expect(short.pa.result).toMatchObject({ type: "connected", candidateKind: "srflx" });
  });

  it("peers behind the same NAT connect over the LAN, with and without hairpinning", () => {
    for (const hairpin of [false, true]) {
      const net = new SimNetwork();
      const observed = new Map<string, Endpoint>();
      net.addHost(SIM_INTRODUCER.host).receive = (p, from) => observed.set(p.toString(), from);
      const nat = net.addNat(
        new SimNat({ publicIp: "192.0.2.10", mapping: "endpoint-independent", filtering: "none", hairpin }),
      );
      const [ca, cb] = channels();
      const pa = new SimPeer(net, "a", "10.0.0.2", ca, nat);
      const pb = new SimPeer(net, "b", "10.0.0.3", cb, nat);
      pa.register(observed);
      pb.register(observed);
      net.runUntil(200);
      pa.punch(
        [
          { kind: "srflx", endpoint: pb.srflx! },
          { kind: "host", endpoint: { host: pb.ip, port: SIM_PORT } },
        ],
        300,
      );
      pb.punch(
        [
          { kind: "srflx", endpoint: pa.srflx! },
          { kind: "host", endpoint: { host: pa.ip, port: SIM_PORT } },
        ],
        300,
      );
      net.runUntil(3_000);
      expect(pa.result).toMatchObject({
        type: "connected",
        candidateKind: "host",
        endpoint: { host: pb.ip },
      });
      expect(pb.result).toMatchObject({
        type: "connected",
        candidateKind: "host",
        endpoint: { host: pa.ip },
      });
    }
  });

  it("a symmetric NAT against a port-restricted NAT fails cleanly, within budget, saying why", () => {
    const { net, pa, pb } = world({ mapping: "endpoint-dependent" }, {});
    net.runUntil(60_000);
    for (const p of [pa, pb]) {
      expect(p.result?.type).toBe("failed");
      if (p.result?.type !== "failed") throw new Error("unreachable");
      expect(p.result.code).toBe("PUNCH_TIMEOUT");
      expect(p.result.natHint.summary).toMatch(/symmetric NAT/);
      expect(p.result.tried.map((t) => t.outcome)).toEqual(["no-reply", "no-reply"]);
      // Nothing is sent after the budget, and the number of packets is bounded.
      const last = Math.max(...p.sends.map((s) => s.at));
      expect(last).toBeLessThan(400 + 9_000);
      expect(p.sends.length).toBeLessThanOrEqual(2 * 24);
    }
  });

  for (const filtering of ["none", "address"] as const) {
    it(`a symmetric NAT against an endpoint-independent NAT with "${filtering}" filtering connects via prflx`, () => {
      const { net, pa, pb } = world({ mapping: "endpoint-dependent" }, { filtering });
      net.runUntil(12_000);
      expect(pa.result).toMatchObject({ type: "connected", candidateKind: "srflx", endpoint: pb.srflx });
      expect(pb.result).toMatchObject({ type: "connected", candidateKind: "prflx" });
      if (pa.result?.type !== "connected" || pb.result?.type !== "connected") throw new Error("unreachable");
      expect(pb.result.endpoint.port).not.toBe(pa.srflx!.port);
      // Both sides can name the symmetric NAT.
      expect(pa.result.natHint.ours).toBe("endpoint-dependent");
      expect(pb.result.natHint.peer).toBe("endpoint-dependent");
      expect(pb.result.natHint.summary).toMatch(/peer's NAT maps each destination/);
    });
  }

  it("keeps the punched path alive, then declares it lost when the uplink dies", () => {
    const { net, pa, pb } = world({}, {});
    net.runUntil(60_000);
    expect(pa.monitor?.stats.keepalivesSent).toBeGreaterThanOrEqual(5);
    expect(pa.monitor?.stats.pongsReceived).toBe(pa.monitor?.stats.keepalivesSent);
    expect(pa.monitor?.stats.srttMs).toBeCloseTo(40, 0);
    expect(pa.monitorEvents.filter((e) => e.type === "lost")).toEqual([]);
    net.partitioned = true;
    net.runUntil(90_000);
    expect(pa.monitorEvents.filter((e) => e.type === "lost")).toHaveLength(1);
    expect(pb.monitorEvents.filter((e) => e.type === "lost")).toHaveLength(1);
  });
});
