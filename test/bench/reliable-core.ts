/**
 * Micro-benchmark of the reliable channel core: two channels joined in memory (no sockets, no
 * crypto), real clock; then two drivers over real UDP sockets on loopback in this one process
 * (both ends share a core: a pessimistic figure); then goodput through the deterministic
 * simulator under loss.
 * Run: npx tsx test/bench/reliable-core.ts [MB]
 */
import dgram from "node:dgram";
import { ReliableChannel } from "../../src/tunnel/reliable/channel.js";
import { ReliableDriver } from "../../src/tunnel/reliable/driver.js";
import { simulate } from "../sim/harness.js";

const OVERHEAD = 30;

function inMemory(totalBytes: number, maxDatagramSize: number): void {
  const t0 = performance.now();
  const a = new ReliableChannel({ now: t0, overhead: OVERHEAD, maxDatagramSize });
  const b = new ReliableChannel({ now: t0, overhead: OVERHEAD, maxDatagramSize });
  const source = Buffer.alloc(1 << 20, 0x5a);
  const WRITE = 64 * 1024;
  let written = 0;
  let delivered = 0;
  const cpu0 = process.cpuUsage();
  while (delivered < totalBytes) {
    const now = performance.now();
    while (written < totalBytes && a.writable) {
      const off = written % source.length;
      const n = Math.min(WRITE, totalBytes - written, source.length - off);
      a.write(source.subarray(off, off + n), now);
      written += n;
    }
    let moved = false;
    for (let p = a.poll(now); p !== null; p = a.poll(now)) {
      b.receive(p, now);
      moved = true;
    }
    for (let c = b.read(); c !== null; c = b.read()) delivered += c.length;
    for (let p = b.poll(now); p !== null; p = b.poll(now)) {
      a.receive(p, now);
      moved = true;
    }
    if (!moved && a.state !== "open") throw new Error(`channel ${a.state}`);
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mb = totalBytes / 1e6;
  const s = a.stats();
  console.log(
    `in-memory  datagram ≤${String(maxDatagramSize).padStart(5)}: ${(mb / secs).toFixed(0).padStart(5)} MB/s` +
      ` (${((mb * 8) / secs).toFixed(0)} Mbit/s), CPU ${(((cpu.user + cpu.system) / 1000 / mb) * 1).toFixed(2)} ms/MB` +
      ` for both ends; packets ${s.packetsSent}, final datagram ${s.datagramSize}, lost ${s.packetsLost}`,
  );
}

function simulated(lossPct: number, rttMs: number): void {
  const bytes = rttMs >= 20 ? 100e6 : 30e6;
  const started = performance.now();
  const r = simulate({
    seed: 42,
    bytesAtoB: bytes,
    linkAtoB: { delayMs: rttMs / 2, loss: lossPct / 100, bandwidthMbps: 1000, queueBytes: 1_000_000 },
    linkBtoA: { delayMs: rttMs / 2, loss: lossPct / 100 },
    channel: { overhead: OVERHEAD, maxDatagramSize: 1452 },
  });
  const wall = performance.now() - started;
  console.log(
    `simulated  1 Gbit/s, RTT ${String(rttMs).padStart(2)} ms, loss ${lossPct}%: goodput ${r.goodputMbps.toFixed(0).padStart(4)} Mbit/s` +
      ` (lost ${r.statsA.packetsLost}, congestion events ${r.statsA.congestionEvents}, ignored ${r.statsA.ignoredLossEvents}; ${wall.toFixed(0)} ms wall)`,
  );
}

/** Two drivers over two UDP sockets on 127.0.0.1, in this process. */
async function udpLoopback(totalBytes: number, maxDatagramSize: number): Promise<void> {
  const sockets = [0, 1].map(() =>
    dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 }),
  );
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.bind(0, "127.0.0.1", r))));
  const ports = sockets.map((s) => s.address().port);
  const now = performance.timeOrigin + performance.now();
  const drivers = [0, 1].map(
    (i) =>
      new ReliableDriver(new ReliableChannel({ now, overhead: OVERHEAD, maxDatagramSize }), {
        send: (d) => sockets[i].send(d, ports[1 - i], "127.0.0.1"),
      }),
  );
  for (const [i, s] of sockets.entries()) s.on("message", (m) => drivers[i].input(m));
  const [a, b] = drivers;
  const source = Buffer.alloc(65536, 0x5a);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let written = 0;
  const pump = () => {
    while (written < totalBytes) {
      written += source.length;
      if (!a.write(source)) return;
    }
  };
  a.on("drain", pump);
  await new Promise<void>((resolve) => {
    let got = 0;
    b.on("data", (c) => {
      got += c.length;
      if (got >= totalBytes) resolve();
    });
    pump();
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mb = totalBytes / 1e6;
  const s = a.channel.stats();
  console.log(
    `udp loop   datagram ≤${String(maxDatagramSize).padStart(5)}: ${(mb / secs).toFixed(0).padStart(5)} MB/s` +
      ` (${((mb * 8) / secs).toFixed(0)} Mbit/s), CPU ${((cpu.user + cpu.system) / 1000 / mb).toFixed(2)} ms/MB` +
      ` for both ends; lost ${s.packetsLost}, srtt ${s.srttMs.toFixed(1)} ms`,
  );
  for (const d of drivers) d.destroy();
  for (const s of sockets) s.close();
}

const mb = Number(process.argv[2] ?? 200);
inMemory(mb * 1e6, 65000);
inMemory(mb * 1e6, 1452);
await udpLoopback(mb * 1e6, 65000);
await udpLoopback((mb / 4) * 1e6, 1452);
for (const rtt of [1, 20]) for (const loss of [0, 1, 5]) simulated(loss, rtt);
