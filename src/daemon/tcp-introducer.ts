/**
 * Our TCP registration with one introducer: a TCP connection from the daemon's fixed TCP port
 * (TcpPortHolder), framed `[len u16][packet]`, carrying a second IntroducerClient. The introducer
 * thereby observes our NAT's TCP mapping for that port, which it hands to peers as our `tcp`
 * candidate, and which the TCP puncher reuses by connecting from the same local port.
 *
 * Each connection gets a fresh client (registration starts over); the StaticBox is shared with the
 * UDP client, so one counter seals everything we send to this introducer. A dropped connection is
 * retried with backoff (1 s doubling to 30 s, reset by a successful registration).
 */
import { connect as netConnect, type Socket } from "node:net";
import type { StaticBox } from "../crypto/box.js";
import { FrameDecoder, frame } from "../introducer/tcp-frames.js";
import type { Endpoint } from "../util/addr.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { Candidate } from "../wire/candidate.js";
import { MAX_PACKET_LEN } from "../wire/introducer.js";
import { IntroducerClient, type IntroducerClientOutput } from "./introducer-client.js";
import { CoreTimer } from "./scheduler.js";

export const TCP_RECONNECT_BASE_MS = 1_000;
export const TCP_RECONNECT_MAX_MS = 30_000;
/** A connect that neither completes nor fails within this is abandoned. */
export const TCP_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The daemon's TCP port: picked by the kernel on the first connection (an explicit bind to port 0,
 * so SO_REUSEADDR is set), then reused by every introducer connection and every punch. Picking a
 * fresh port at each start (rather than a configured one) avoids TIME_WAIT and stale NAT entries
 * left by a previous run on the same 4-tuples.
 */
export class TcpPortHolder {
  port = 0;
  constructor(readonly localAddress = "0.0.0.0") {}
}

export interface TcpIntroducerOptions {
  endpoint: Endpoint;
  port: TcpPortHolder;
  name: string;
  privateKey: Buffer;
  introducerPublicKey: Buffer;
  box: StaticBox;
  lanCandidates: Candidate[];
  accepts: (peerPublicKey: Buffer) => string | null;
  clock: Clock;
  logger: Logger;
  onEvent: (e: Exclude<IntroducerClientOutput, { type: "send" }>) => void;
}

export class TcpIntroducerConn {
  client: IntroducerClient | null = null;
  private socket: Socket | null = null;
  private connected = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly timer: CoreTimer;
  private closed = false;
  private everRegistered = false;

  constructor(private readonly o: TcpIntroducerOptions) {
    this.timer = new CoreTimer(
      {
        nextTimer: () => (this.connected ? this.client?.nextTimer() : undefined),
        tick: (now) => this.run(this.client?.tick(now) ?? []),
      },
      () => o.clock.now(),
    );
  }

  get registered(): boolean {
    return this.connected && (this.client?.status().registered ?? false);
  }

  /** True while the first registration is under way (no success and no failure yet). */
  get settling(): boolean {
    return !this.closed && !this.everRegistered && this.failures === 0;
  }

  get publicEndpoint(): Endpoint | undefined {
    return this.connected ? this.client?.status().publicEndpoint : undefined;
  }

  start(): void {
    if (this.closed || this.socket) return;
    const port = this.o.port;
    const sock = netConnect({
      host: this.o.endpoint.host,
      port: this.o.endpoint.port,
      localAddress: port.localAddress,
      localPort: port.port,
    });
    this.socket = sock;
    sock.setTimeout(TCP_CONNECT_TIMEOUT_MS, () => sock.destroy(new Error("connect timeout")));
    const decoder = new FrameDecoder(MAX_PACKET_LEN);
    sock.once("connect", () => {
      sock.setTimeout(0);
      sock.setNoDelay(true);
      sock.setKeepAlive(true, 15_000);
      if (port.port === 0) port.port = sock.localPort ?? 0;
      this.connected = true;
      this.client = new IntroducerClient({
        name: this.o.name,
        privateKey: this.o.privateKey,
        introducerPublicKey: this.o.introducerPublicKey,
        lanCandidates: this.o.lanCandidates,
        accepts: this.o.accepts,
        tcpLocalPort: sock.localPort,
        wallClockMs: Date.now(),
        box: this.o.box,
      });
      this.o.logger.debug(
        { introducer: `${this.o.endpoint.host}:${this.o.endpoint.port}`, localPort: sock.localPort },
        "TCP connection to introducer up; registering",
      );
      this.run(this.client.start(this.o.clock.now()));
    });
    sock.on("data", (chunk: Buffer) => {
      const frames = decoder.push(chunk);
      if (frames === null) {
        sock.destroy();
        return;
      }
      for (const f of frames) if (this.client && this.socket === sock) this.handle(f);
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      this.o.logger.debug({ err: e.code ?? e.message }, "TCP connection to introducer failed");
      // A port we can no longer bind (taken by another program meanwhile): pick a new one.
      if (e.code === "EADDRINUSE" || e.code === "EADDRNOTAVAIL") port.port = 0;
    });
    sock.on("close", () => this.onClose(sock));
  }

  private handle(packet: Buffer): void {
    const client = this.client;
    if (!client) return;
    const out = client.handle(packet, this.o.clock.now());
    if (out.some((a) => a.type === "registered")) {
      this.failures = 0;
      this.everRegistered = true;
    }
    this.run(out);
  }

  /** Asks for an introduction over this connection. */
  introduce(peerName: string): void {
    if (this.client && this.connected) this.run(this.client.introduce(peerName, this.o.clock.now()));
  }

  private run(out: IntroducerClientOutput[]): void {
    for (const a of out) {
      if (a.type === "send") {
        if (this.socket && this.connected) this.socket.write(frame(a.packet));
      } else if (a.type === "lost") {
        // No answers over a connection that looks alive: start over on a new one.
        this.socket?.destroy();
      } else this.o.onEvent(a);
    }
    this.timer.rearm();
  }

  private onClose(sock: Socket): void {
    if (this.socket !== sock) return;
    this.socket = null;
    this.connected = false;
    this.client = null;
    this.timer.rearm();
    if (this.closed) return;
    this.failures++;
    const delay = Math.min(TCP_RECONNECT_MAX_MS, TCP_RECONNECT_BASE_MS * 2 ** Math.min(this.failures - 1, 8));
    this.reconnectTimer = setTimeout(() => this.start(), delay * (1 + 0.2 * Math.random()));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.timer.close();
    this.socket?.destroy();
    this.socket = null;
  }
}
