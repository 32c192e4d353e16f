/**
 * The mux compliance suite over the TCP path's carrier: a real loopback TCP connection framed by
 * TcpTransport (`[len u16][packet]`), with SessionMuxChannel cutting mux bytes into `INNER.MUX`
 * payloads exactly as the daemon does (only the Noise session between them is left out: it
 * neither reorders nor cuts payloads). Together with mux.test.ts (memory pipe) and
 * mux-over-reliable.test.ts (UDP path) every path runs the same suite.
 */
import { once } from "node:events";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { afterAll } from "vitest";
import { SessionMuxChannel } from "../../src/daemon/tcp-link.js";
import { TcpTransport } from "../../src/daemon/tcp-transport.js";
import type { ByteChannel } from "../../src/tunnel/channel.js";
import { INNER } from "../../src/wire/inner.js";
import { muxComplianceSuite } from "./mux-compliance.js";

const server = createServer();
const accepted: Socket[] = [];
server.on("connection", (s) => accepted.push(s));
const listening = new Promise<number>((resolve) =>
  server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
);
afterAll(() => {
  server.close();
});

function end(socket: Socket): SessionMuxChannel {
  let channel: SessionMuxChannel | undefined;
  const transport = new TcpTransport(socket, (packet) => {
    if (packet[0] === INNER.MUX) channel?.input(packet.subarray(1));
  });
  channel = new SessionMuxChannel(
    {
      sendPayload: (payload) => transport.send(payload),
      get congested() {
        return transport.congested;
      },
      onDrain: (fn) => socket.on("drain", fn),
    },
    (why) => transport.close(why),
  );
  transport.onClose((why) => channel?.close(why));
  return channel;
}

async function tcpPair(): Promise<[ByteChannel, ByteChannel]> {
  const port = await listening;
  const before = accepted.length;
  const client = netConnect({ host: "127.0.0.1", port });
  await once(client, "connect");
  while (accepted.length === before) await new Promise((r) => setImmediate(r));
  client.setNoDelay(true);
  accepted[before].setNoDelay(true);
  return [end(client), end(accepted[before])];
}

muxComplianceSuite("TCP framing (TcpTransport + SessionMuxChannel) over loopback", tcpPair);
