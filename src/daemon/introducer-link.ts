/**
 * One configured introducer: resolves its address, drives the sans-I/O IntroducerClient over
 * the daemon's UDP socket, and reports its events to the daemon.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { encodeKey } from "../crypto/keys.js";
import { type Endpoint, formatEndpoint, normalizeIp, sameEndpoint } from "../util/addr.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { Candidate } from "../wire/candidate.js";
import { IntroducerClient, type IntroducerClientOutput } from "./introducer-client.js";
import { CoreTimer } from "./scheduler.js";
import type { IntroducerStatus } from "./status-types.js";

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
}

const RESOLVE_RETRY_MS = 5_000;

export class IntroducerLink {
  readonly client: IntroducerClient;
  /** The resolved address packets go to and must come from; undefined until resolved. */
  endpoint: Endpoint | undefined;
  private readonly timer: CoreTimer;
  private closed = false;
  private resolveTimer: NodeJS.Timeout | undefined;
  readonly label: string;

  constructor(private readonly o: IntroducerLinkOptions) {
    this.label = formatEndpoint(o.address);
    this.client = new IntroducerClient({
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
  }

  /** True when `from` is this introducer's address. */
  owns(from: Endpoint): boolean {
    return sameEndpoint(this.endpoint, from);
  }

  handle(packet: Buffer): void {
    this.run(this.client.handle(packet, this.o.clock.now()));
  }

  introduce(peerName: string): void {
    this.run(this.client.introduce(peerName, this.o.clock.now()));
  }

  get registered(): boolean {
    return this.client.status().registered;
  }

  private run(out: IntroducerClientOutput[]): void {
    for (const a of out) {
      if (a.type === "send") {
        if (this.endpoint) this.o.sendUdp(a.packet, this.endpoint);
      } else this.o.onEvent(this, a);
    }
    this.timer.rearm();
  }

  status(now: number): IntroducerStatus {
    const s = this.client.status();
    return {
      address: this.label,
      registered: s.registered,
      publicEndpoint: s.publicEndpoint ? formatEndpoint(s.publicEndpoint) : null,
      tcpPublicEndpoint: null,
      lastContactAgoMs: s.lastContact === undefined ? null : now - s.lastContact,
      rttMs: s.rttMs ?? null,
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.resolveTimer);
    this.timer.close();
  }
}
