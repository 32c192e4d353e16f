/**
 * Micro-benchmark of the daemon's data path without the TCP sockets: a mux stream → UdpLink
 * (reliable channel + driver) → SessionPump (Noise transport seal) → a real UDP socket on
 * loopback → SessionPump (open) → UdpLink → mux stream, both ends in this one process.
 * It reports goodput and, more useful on a busy machine, the CPU time per MB for both ends
 * together (process.cpuUsage, so other processes' load matters less than for wall-clock figures).
 * Run: npx tsx test/bench/link-path.ts [MB] [repeats]
 */
import dgram from "node:dgram";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { SessionPump } from "../../src/daemon/session-pump.js";
import { UdpLink } from "../../src/daemon/udp-link.js";
import type { MuxStream } from "../../src/tunnel/mux/index.js";
import { systemClock } from "../../src/util/clock.js";
import { decodeChannelPacket } from "../../src/wire/inner.js";

interface End {
  pump: SessionPump;
  socket: dgram.Socket;
  port: number;
  peerKey: Buffer;
  link?: UdpLink;
}

async function setup(): Promise<[End, End]> {
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const ends: End[] = await Promise.all(
    [
      [ka, kb],
      [kb, ka],
    ].map(async ([me, peer]) => {
      const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
      await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
      const end: End = {
        socket,
        port: socket.address().port,
        peerKey: peer.publicKey,
        // The daemon's own adapter: sends what the manager asks, hands DATA to the link.
        pump: new SessionPump(
          { privateKey: me.privateKey, peers: [peer.publicKey], clock: systemClock },
          (packet, to) => socket.send(packet, to.port, to.host),
          (e) => {
            if (e.type !== "deliver") return;
            const c = decodeChannelPacket(e.payload);
            if (c) end.link?.input(c.packet);
          },
        ),
      };
      socket.on("message", (m, r) => end.pump.handle(m, { host: r.address, port: r.port }));
      return end;
    }),
  );
  const [a, b] = ends;
  a.pump.connect(a.peerKey, { host: "127.0.0.1", port: b.port });
  while (!a.pump.manager.isEstablished(a.peerKey)) await new Promise((r) => setTimeout(r, 5));
  for (const [self, initiator] of [
    [a, true],
    [b, false],
  ] as const) {
    self.link = new UdpLink({
      id: 7,
      initiator,
      maxDatagramSize: 65_000,
      clock: systemClock,
      sendPayload: (p) => self.pump.send(self.peerKey, p),
      onStream: (req) => {
        const s = req.accept();
        if (req.target === "echo:1") {
          s.on("data", (d: Buffer) => s.write(d));
          return;
        }
        s.on("data", (d: Buffer) => {
          received += d.length;
          if (received >= want) done?.();
        });
      },
      onDead: () => {},
    });
  }
  return [a, b];
}

let received = 0;
let want = 0;
let done: (() => void) | undefined;

async function transfer(stream: MuxStream, bytes: number): Promise<{ mbps: number; cpuMsPerMb: number }> {
  const block = Buffer.alloc(64 * 1024, 0x5a);
  received = 0;
  want = bytes;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    done = resolve;
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += block.length;
        if (!stream.write(block)) return void stream.once("drain", pump);
      }
    };
    pump();
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mb = bytes / 1e6;
  return { mbps: (mb * 8) / secs, cpuMsPerMb: (cpu.user + cpu.system) / 1000 / mb };
}

/** Median round trip (ms) of `count` 1-byte pings through an echoing stream. */
async function pingPong(stream: MuxStream, count: number): Promise<number> {
  const rtts: number[] = [];
  await new Promise<void>((resolve) => {
    let t = performance.now();
    stream.on("data", () => {
      rtts.push(performance.now() - t);
      if (rtts.length >= count) return resolve();
      t = performance.now();
      stream.write(Buffer.of(1));
    });
    stream.write(Buffer.of(1));
  });
  stream.removeAllListeners("data");
  rtts.sort((x, y) => x - y);
  return rtts[rtts.length >> 1];
}

const mb = Number(process.argv[2] ?? 200);
const repeats = Number(process.argv[3] ?? 5);
const [a] = await setup();
const stream = await a.link!.mux.open("bench:1");
await transfer(stream, 20e6); // warm-up: PMTU probing, slow start, JIT
const runs = [];
for (let i = 0; i < repeats; i++) runs.push(await transfer(stream, mb * 1e6));
const cpu = runs.map((r) => r.cpuMsPerMb).sort((x, y) => x - y);
const rate = runs.map((r) => r.mbps).sort((x, y) => x - y);
const mid = (xs: number[]) => xs[xs.length >> 1];
console.log(
  `link path (mux → channel → Noise → UDP loopback → back), ${mb} MB × ${repeats}: ` +
    `${mid(rate).toFixed(0)} Mbit/s (${rate[0].toFixed(0)}–${rate[rate.length - 1].toFixed(0)}), ` +
    `CPU ${mid(cpu).toFixed(2)} ms/MB both ends (${cpu[0].toFixed(2)}–${cpu[cpu.length - 1].toFixed(2)}); ` +
    `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
const echo = await a.link!.mux.open("echo:1");
const pings = [];
for (let i = 0; i < 3; i++) pings.push((await pingPong(echo, 2000)).toFixed(3));
console.log(`1-byte ping-pong through the link path (same process): median ${pings.join(" / ")} ms`);
process.exit(0);
