/**
 * The daemon's one UDP socket. Introducer traffic, path probes and the peer sessions share it,
 * so the public mapping the introducer observes is the one peers punch to. Incoming datagrams
 * are routed by their first byte (the packet type, docs/PROTOCOL.md); unknown types are counted
 * and dropped. Outgoing datagrams go through the TTL-aware sender (the punch primer).
 */
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { UdpSender } from "../punch/udp-adapter.js";
import { type Endpoint, normalizeIp } from "../util/addr.js";
import { literalLookup } from "../util/literal-lookup.js";
import type { Datagram } from "../wire/datagram.js";

export type PacketHandler = (packet: Buffer, from: Endpoint) => void;

/** Socket buffers large enough for a burst of 64 KB datagrams at loopback speed. */
const SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;

export class UdpEndpoint {
  readonly counters = { received: 0, unknownType: 0, handlerErrors: 0, sendErrors: 0 };
  private readonly routes = new Array<PacketHandler | undefined>(256);
  private readonly sender: UdpSender;

  private constructor(
    private readonly socket: Socket,
    readonly local: Endpoint,
  ) {
    this.sender = new UdpSender(socket);
    socket.on("message", (msg, rinfo) =>
      this.dispatch(msg, { host: normalizeIp(rinfo.address), port: rinfo.port }),
    );
    socket.on("error", () => this.counters.sendErrors++);
  }

  static async bind(bind: Endpoint): Promise<UdpEndpoint> {
    const socket = createSocket({
      type: isIP(bind.host) === 6 ? "udp6" : "udp4",
      reuseAddr: false,
      lookup: literalLookup,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(bind.port, bind.host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    try {
      socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
      socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
    } catch {
      // The kernel caps these at net.core.*mem_max; smaller buffers only cost throughput.
    }
    const addr = socket.address();
    return new UdpEndpoint(socket, { host: addr.address, port: addr.port });
  }

  /** Routes packet types lo..hi (inclusive) to `handler`. */
  route(lo: number, hi: number, handler: PacketHandler): void {
    for (let t = lo; t <= hi; t++) this.routes[t] = handler;
  }

  private dispatch(packet: Buffer, from: Endpoint): void {
    this.counters.received++;
    const handler = packet.length > 0 ? this.routes[packet[0]] : undefined;
    if (!handler) {
      this.counters.unknownType++;
      return;
    }
    try {
      handler(packet, from);
    } catch {
      // A handler bug must not take the socket down; it is counted and visible in status.
      this.counters.handlerErrors++;
    }
  }

  /** Sends a datagram; errors (e.g. EHOSTUNREACH from ICMP) are counted, never thrown. */
  send(packet: Datagram, to: Endpoint, ttl?: number): void {
    this.sender.post(packet, to, ttl, this.onSent);
  }

  private readonly onSent = (err: Error | null): void => {
    if (err) this.counters.sendErrors++;
  };

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
