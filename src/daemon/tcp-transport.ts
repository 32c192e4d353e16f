/**
 * A punched TCP connection as a packet transport: each p2ptun packet (what UDP would carry) is
 * framed `[length u16][packet]` (docs/PROTOCOL.md). A framing error cannot be resynchronised, so
 * it closes the connection; anything that closes the socket reports `onClose` once.
 */
import type { Socket } from "node:net";
import { FrameDecoder, frame } from "../introducer/tcp-frames.js";
import { type Endpoint, normalizeIp } from "../util/addr.js";
import { type Datagram, datagramLength } from "../wire/datagram.js";

/** Largest packet a u16 length can frame. */
export const TCP_MAX_PACKET = 0xffff;

export class TcpTransport {
  readonly remote: Endpoint;
  readonly counters = { packetsIn: 0, packetsOut: 0, badFraming: 0 };
  private closed = false;
  private onCloseFn: ((reason: string) => void) | undefined;

  constructor(
    readonly socket: Socket,
    onPacket: (packet: Buffer, from: Endpoint) => void,
  ) {
    this.remote = { host: normalizeIp(socket.remoteAddress ?? ""), port: socket.remotePort ?? 0 };
    const decoder = new FrameDecoder(TCP_MAX_PACKET);
    socket.on("data", (chunk: Buffer) => {
      const frames = decoder.push(chunk);
      if (frames === null) {
        this.counters.badFraming++;
        this.close("bad framing");
        return;
      }
      for (const f of frames) {
        if (this.closed) return;
        this.counters.packetsIn++;
        onPacket(f, this.remote);
      }
    });
    socket.on("error", (e: NodeJS.ErrnoException) => this.finish(e.code ?? e.message));
    socket.on("close", () => this.finish("connection closed"));
    socket.on("end", () => socket.end());
  }

  onClose(fn: (reason: string) => void): void {
    this.onCloseFn = fn;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues one packet; false when the socket is closed or the packet cannot be framed. */
  send(packet: Datagram): boolean {
    const length = datagramLength(packet);
    if (this.closed || length === 0 || length > TCP_MAX_PACKET) return false;
    this.counters.packetsOut++;
    this.socket.write(frame(packet));
    return true;
  }

  /** True while the socket's send buffer is above its high-water mark. */
  get congested(): boolean {
    return this.socket.writableNeedDrain;
  }

  close(reason: string): void {
    this.socket.destroy();
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.onCloseFn?.(reason);
  }
}
