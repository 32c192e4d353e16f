/**
 * One link on the UDP path: a reliable channel (driven by its timer adapter) carrying one mux.
 * Channel packets go out as session payloads tagged with the link id; the mux sees the channel
 * as an ordered byte stream. A dead channel closes the mux (its streams error with PEER_GONE).
 */
import { EventEmitter } from "node:events";
import type { ByteChannel } from "../tunnel/channel.js";
import { type IncomingStream, MuxSession } from "../tunnel/mux/index.js";
import { ReliableChannel, ReliableDriver } from "../tunnel/reliable/index.js";
import type { Clock } from "../util/clock.js";
import { CHANNEL_PREFIX, writeChannelPrefix } from "../wire/inner.js";
import { LINK_IDLE_TIMEOUT_MS, LINK_KEEPALIVE_MS } from "./peer-constants.js";

/** Session DATA header (1+4+8) + AEAD tag (16) + inner type and link id (5). */
export const UDP_LINK_OVERHEAD = 13 + 16 + CHANNEL_PREFIX;

/** Send buffer of a link over loopback (bytes written and not yet acknowledged). */
export const LOOPBACK_SEND_BUFFER_BYTES = 2 * 1024 * 1024;

export interface UdpLinkOptions {
  id: number;
  /** Encrypts and sends one session payload to the peer. */
  sendPayload: (payload: Buffer) => void;
  /** The mux initiator opens odd stream ids: the link leader. */
  initiator: boolean;
  maxDatagramSize: number;
  /** The path is loopback (same machine): smaller send buffer. */
  loopback?: boolean;
  clock: Clock;
  onStream: (req: IncomingStream) => void;
  onDead: (reason: string) => void;
}

/** Adapts the reliable driver to the mux's ByteChannel ('dead' reads as 'close'). */
class DriverChannel extends EventEmitter implements ByteChannel {
  constructor(private readonly driver: ReliableDriver) {
    super();
    driver.on("data", (d) => this.emit("data", d));
    driver.on("drain", () => this.emit("drain"));
    driver.on("dead", (why) => this.emit("close", `channel dead: ${why}`));
    driver.on("close", (why) => this.emit("close", why || "channel closed"));
  }
  write(data: Buffer): boolean {
    return this.driver.write(data);
  }
  close(reason?: string): void {
    this.driver.close(reason);
  }
}

export class UdpLink {
  readonly id: number;
  readonly channel: ReliableChannel;
  readonly driver: ReliableDriver;
  readonly mux: MuxSession;
  private closed = false;

  constructor(o: UdpLinkOptions) {
    this.id = o.id;
    this.channel = new ReliableChannel({
      now: o.clock.now(),
      overhead: UDP_LINK_OVERHEAD,
      maxDatagramSize: o.maxDatagramSize,
      // The path may be re-punched (NAT reboot) while data is outstanding: give it time.
      deadPeerTimeoutMs: 60_000,
      idleTimeoutMs: LINK_IDLE_TIMEOUT_MS,
      keepaliveMs: LINK_KEEPALIVE_MS,
      maxPtoCount: 30,
      // On loopback the round trip is well under a millisecond: 2 MB in flight is plenty, and more
      // only lets the peer's socket queue and our RSS grow (bench, single stream: sender peak RSS
      // 115-120 MB with 4 MB, 104-110 MB with 2 MB, same throughput). Paths elsewhere keep the
      // default.
      ...(o.loopback ? { sendBufferBytes: LOOPBACK_SEND_BUFFER_BYTES } : {}),
      // Packets are built behind room for [CHANNEL][linkId] in one reused buffer: the session
      // encrypts each at once, so no per-packet allocation or copy is needed here.
      headroom: CHANNEL_PREFIX,
      reusePacketBuffer: true,
    });
    this.driver = new ReliableDriver(this.channel, {
      clock: o.clock,
      send: (datagram) => {
        writeChannelPrefix(datagram, this.id);
        o.sendPayload(datagram);
      },
    });
    this.driver.on("dead", (why) => {
      if (!this.closed) o.onDead(why);
    });
    this.mux = new MuxSession(new DriverChannel(this.driver), {
      initiator: o.initiator,
      clock: o.clock,
      keepaliveIntervalMs: 0, // the path monitor and the channel's keepalive cover an idle link
    });
    this.mux.on("stream", o.onStream);
  }

  input(packet: Buffer): void {
    this.driver.input(packet);
  }

  /** The session now runs over a new, proven path (see ReliableChannel.pathChanged). */
  pathChanged(): void {
    if (!this.closed) this.driver.pathChanged();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.mux.close(reason);
    this.driver.destroy();
  }
}
