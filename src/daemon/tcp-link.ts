/**
 * One link on the TCP path: the mux runs directly on the session's payloads, with no reliable
 * channel in between (TCP is already reliable and ordered). Mux bytes go out as `INNER.MUX`
 * session payloads, cut to fit the u16 TCP frame; decrypted `INNER.MUX` payloads are fed back in
 * order. A link lives exactly as long as its TCP connection: a new connection gets a new mux, so
 * both sides agree on it without any link-control messages.
 */
import { EventEmitter } from "node:events";
import type { ByteChannel } from "../tunnel/channel.js";
import { type IncomingStream, MuxSession } from "../tunnel/mux/index.js";
import type { Clock } from "../util/clock.js";
import { INNER } from "../wire/inner.js";
import { TCP_MAX_PACKET } from "./tcp-transport.js";

/** Session DATA header (1+4+8) + AEAD tag (16) + inner type (1). */
export const TCP_LINK_OVERHEAD = 13 + 16 + 1;
/** Largest mux chunk per session payload: what fits one `[len u16]` frame. */
export const TCP_MUX_CHUNK = TCP_MAX_PACKET - TCP_LINK_OVERHEAD;

/** Where a TcpLink's payloads go: the session (which frames them onto the socket). */
export interface TcpLinkCarrier {
  /** Encrypts one session payload to the peer (it travels over the TCP connection). */
  sendPayload(payload: Buffer): void;
  /** True while the TCP send buffer is full: the mux should wait for `drain`. */
  readonly congested: boolean;
  /** Subscribes to the socket's `drain`. */
  onDrain(fn: () => void): void;
}

export interface TcpLinkOptions {
  carrier: TcpLinkCarrier;
  /** The mux initiator opens odd stream ids: the peer with the lower public key. */
  initiator: boolean;
  clock: Clock;
  onStream: (req: IncomingStream) => void;
  /** The mux ended (GO_AWAY, keepalive timeout, protocol error): the connection is useless. */
  onDead: (reason: string) => void;
}

/** The session payload stream as the mux's ByteChannel. */
export class SessionMuxChannel extends EventEmitter implements ByteChannel {
  private closed = false;
  private wantDrain = false;

  constructor(
    private readonly carrier: TcpLinkCarrier,
    private readonly onClosed: (reason: string) => void,
  ) {
    super();
    carrier.onDrain(() => {
      if (this.wantDrain && !this.closed) {
        this.wantDrain = false;
        this.emit("drain");
      }
    });
  }

  write(data: Buffer): boolean {
    if (this.closed) return false;
    for (let at = 0; at < data.length; at += TCP_MUX_CHUNK) {
      const n = Math.min(TCP_MUX_CHUNK, data.length - at);
      const payload = Buffer.allocUnsafe(1 + n);
      payload[0] = INNER.MUX;
      data.copy(payload, 1, at, at + n);
      this.carrier.sendPayload(payload);
    }
    if (this.carrier.congested) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  /** Mux bytes decrypted from an `INNER.MUX` payload (without the type byte). */
  input(bytes: Buffer): void {
    if (!this.closed && bytes.length > 0) this.emit("data", bytes);
  }

  close(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    const why = reason ?? "channel closed";
    // Let the mux finish its own close handling before it hears `close`, as a socket would.
    setImmediate(() => this.emit("close", why));
    this.onClosed(why);
  }
}

export class TcpLink {
  readonly mux: MuxSession;
  private readonly channel: SessionMuxChannel;
  private closed = false;

  constructor(o: TcpLinkOptions) {
    this.channel = new SessionMuxChannel(o.carrier, (why) => {
      if (!this.closed) {
        this.closed = true;
        o.onDead(why);
      }
    });
    this.mux = new MuxSession(this.channel, { initiator: o.initiator, clock: o.clock });
    this.mux.on("stream", o.onStream);
  }

  /** The body of an `INNER.MUX` payload. */
  input(bytes: Buffer): void {
    this.channel.input(bytes);
  }

  /** Ends the mux (its streams error) without reporting `onDead`. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.mux.close(reason);
  }
}
