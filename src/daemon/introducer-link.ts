/**
 * One configured introducer: resolves its address, drives the sans-I/O IntroducerClient over
 * the daemon's UDP socket, and reports its events to the daemon.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { StaticBox } from "../crypto/box.js";
import { encodeKey, publicKeyOf } from "../crypto/keys.js";
import { type Endpoint, formatEndpoint, normalizeIp, sameEndpoint } from "../util/addr.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { Candidate } from "../wire/candidate.js";
import { IntroducerClient, type IntroducerClientOutput } from "./introducer-client.js";
import { CoreTimer } from "./scheduler.js";
import type { IntroducerStatus } from "./status-types.js";
import { TcpIntroducerConn, type TcpPortHolder } from "./tcp-introducer.js";

export type IntroducerEvent = Exclude<IntroducerClientOutput, { type: "send" }>;

export interface IntroducerLinkOptions {
  address: Endpoint;
  publicKey: Buffer;
  name: string;
  privateKey: Buffer;
  lanCandidates: Candidate[];
  accepts: (peerPublicKey: Buffer) => string | null;
  clock: Clock;
  logger: Logger;
  sendUdp: (packet: Buffer, to: Endpoint) => void;
  onEvent: (link: IntroducerLink, e: IntroducerEvent) => void;
  /** Also register over TCP from this port (the TCP fallback's srflx endpoint). */
  tcpPort?: TcpPortHolder;
}

const RESOLVE_RETRY_MS = 5_000;
/** An introduction asked for while our first TCP registration is under way waits at most this. */
export const TCP_REGISTRATION_GRACE_MS = 1_500;

export class IntroducerLink {
  readonly client: IntroducerClient;
  /** The resolved address packets go to and must come from; undefined until resolved. */
  endpoint: Endpoint | undefined;
  private readonly timer: CoreTimer;
  private closed = false;
  private resolveTimer: NodeJS.Timeout | undefined;
  readonly label: string;
  /** One box for the UDP and the TCP client: one counter, no nonce reuse. */
  private readonly box: StaticBox;
  tcp: TcpIntroducerConn | undefined;
  /** Introductions asked for while the TCP registration settles (TCP_REGISTRATION_GRACE_MS). */
  private readonly deferred = new Set<string>();
  private deferTimer: NodeJS.Timeout | undefined;
  private graceOver = false;
  /** How many of each event this introducer reported, over UDP and TCP (for metrics). */
  readonly events: Record<string, number> = {};
  /** The last refusal of our registration ("CODE: reason"), cleared by the next registration. */
  private registerRefusal: string | null = null;

  constructor(private readonly o: IntroducerLinkOptions) {
    this.label = formatEndpoint(o.address);
    this.box = new StaticBox(o.privateKey, publicKeyOf(o.privateKey), o.publicKey, "introducer", Date.now());
    this.client = new IntroducerClient({
      box: this.box,
      name: o.name,
      privateKey: o.privateKey,
      introducerPublicKey: o.publicKey,
      lanCandidates: o.lanCandidates,
      accepts: o.accepts,
      wallClockMs: Date.now(),
    });
    this.timer = new CoreTimer(
      { nextTimer: () => this.client.nextTimer(), tick: (now) => this.run(this.client.tick(now)) },
      () => o.clock.now(),
    );
  }

  async start(): Promise<void> {
    const host = this.o.address.host;
    try {
      const ip = isIP(host) ? host : (await lookup(host)).address;
      this.endpoint = { host: normalizeIp(ip), port: this.o.address.port };
    } catch (e) {
      this.o.logger.warn(
        { introducer: this.label, err: (e as Error).message },
        "cannot resolve introducer; retrying",
      );
      if (!this.closed) this.resolveTimer = setTimeout(() => void this.start(), RESOLVE_RETRY_MS);
      return;
    }
    this.o.logger.info(
      { introducer: this.label, publicKey: encodeKey(this.o.publicKey) },
      "registering with introducer",
    );
    this.run(this.client.start(this.o.clock.now()));
    this.startTcp();
  }

  private startTcp(): void {
    if (!this.o.tcpPort || !this.endpoint || this.tcp || this.closed) return;
    this.tcp = new TcpIntroducerConn({
      endpoint: this.endpoint,
      port: this.o.tcpPort,
      name: this.o.name,
      privateKey: this.o.privateKey,
      introducerPublicKey: this.o.publicKey,
      box: this.box,
      lanCandidates: this.o.lanCandidates,
      accepts: this.o.accepts,
      clock: this.o.clock,
      logger: this.o.logger,
      onEvent: (e) => {
        this.emit(e);
        if (e.type === "registered") this.flushDeferred();
      },
    });
    this.tcp.start();
  }

  /** True when `from` is this introducer's address. */
  owns(from: Endpoint): boolean {
    return sameEndpoint(this.endpoint, from);
  }

  handle(packet: Buffer): void {
    this.run(this.client.handle(packet, this.o.clock.now()));
  }

  introduce(peerName: string): void {
    // Our first TCP registration is under way: wait for it (briefly) so that the introduction
    // carries our `tcp` candidate, or the TCP fallback could not punch on it.
    if (this.tcp?.settling && !this.graceOver) {
      this.deferred.add(peerName);
      this.deferTimer ??= setTimeout(() => {
        this.graceOver = true;
        this.flushDeferred();
      }, TCP_REGISTRATION_GRACE_MS);
      return;
    }
    // Over UDP when it works; over our TCP connection when UDP is blocked.
    if (!this.client.status().registered && this.tcp?.registered) this.tcp.introduce(peerName);
    else this.run(this.client.introduce(peerName, this.o.clock.now()));
  }

  private flushDeferred(): void {
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    const names = [...this.deferred];
    this.deferred.clear();
    for (const n of names) if (!this.closed) this.introduce(n);
  }

  /** Registered over UDP or over TCP. */
  get registered(): boolean {
    return this.client.status().registered || (this.tcp?.registered ?? false);
  }

  private run(out: IntroducerClientOutput[]): void {
    for (const a of out) {
      if (a.type === "send") {
        if (this.endpoint) this.o.sendUdp(a.packet, this.endpoint);
      } else this.emit(a);
    }
    this.timer.rearm();
  }

  private emit(e: IntroducerEvent): void {
    this.events[e.type] = (this.events[e.type] ?? 0) + 1;
    // Kept for `p2ptun status`: a daemon that is not registered should say why.
    if (e.type === "refused" && e.request === "register") this.registerRefusal = `${e.code}: ${e.reason}`;
    else if (e.type === "registered") this.registerRefusal = null;
    this.o.onEvent(this, e);
  }

  status(now: number): IntroducerStatus {
    const s = this.client.status();
    // Contact over either transport counts (with UDP blocked, TCP is the only one).
    const t = this.tcp?.client?.status();
    const last = Math.max(
      s.lastContact ?? Number.NEGATIVE_INFINITY,
      t?.lastContact ?? Number.NEGATIVE_INFINITY,
    );
    return {
      address: this.label,
      registered: this.registered,
      publicEndpoint: s.publicEndpoint ? formatEndpoint(s.publicEndpoint) : null,
      tcpPublicEndpoint: this.tcp?.publicEndpoint ? formatEndpoint(this.tcp.publicEndpoint) : null,
      lastContactAgoMs: Number.isFinite(last) ? now - last : null,
      rttMs: s.rttMs ?? t?.rttMs ?? null,
      refused: this.registerRefusal,
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.resolveTimer);
    clearTimeout(this.deferTimer);
    this.timer.close();
    this.tcp?.close();
  }
}
