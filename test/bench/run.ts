/**
 * `npm run bench`: p2ptun between two daemon processes on loopback, next to baselines measured
 * in the same run — plain TCP over loopback, and kcptun (fast3, windows 2048, aes) carrying the
 * same transfers. As root it runs inside a private network namespace, where nftables drops a
 * chosen share of UDP packets for the loss figures; without root those rows are skipped.
 *
 * Figures: single-stream throughput, 64 concurrent streams (aggregate + fairness), 1-byte echo
 * round trip, goodput at 1 % and 5 % loss, and the daemons' peak RSS.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, stopProcess, waitForStatus } from "../../src/demo/processes.js";
import { writeWorld } from "../../src/demo/world.js";

const NS = `p2pbench${process.pid % 100000}`;
const INSIDE = process.env.P2PTUN_BENCH_INSIDE === "1";
const SECONDS = Number(process.env.P2PTUN_BENCH_SECONDS ?? 4);
const SERVERS = join(import.meta.dirname, "servers.mjs");
const children: ChildProcess[] = [];

// ── namespace setup: re-run this file inside a fresh netns (root only) ─────────────────────────
if (!INSIDE && process.getuid?.() === 0 && process.env.P2PTUN_BENCH_NO_NETNS !== "1") {
  execFileSync("ip", ["netns", "add", NS]);
  try {
    execFileSync("ip", ["-n", NS, "link", "set", "lo", "up"]);
    const r = spawn("ip", ["netns", "exec", NS, process.execPath, ...process.execArgv, process.argv[1]], {
      stdio: "inherit",
      env: { ...process.env, P2PTUN_BENCH_INSIDE: "1", P2PTUN_BENCH_NS: NS },
    });
    const code = await new Promise<number>((res) => r.on("exit", (c) => res(c ?? 1)));
    process.exitCode = code;
  } finally {
    execFileSync("ip", ["netns", "del", NS]);
  }
} else {
  await main();
}

function canDropPackets(): boolean {
  return INSIDE && process.getuid?.() === 0;
}

/** Drops `percent` % of UDP packets on this namespace's loopback (both directions). */
function setLoss(percent: number): void {
  const rules =
    percent > 0
      ? `table inet benchloss { chain out { type filter hook output priority 0; meta l4proto udp numgen random mod 100 < ${percent} drop } }`
      : "";
  try {
    execFileSync("nft", ["delete", "table", "inet", "benchloss"], { stdio: "ignore" });
  } catch {}
  if (rules) execFileSync("nft", ["-f", "-"], { input: rules });
}

function startServer(mode: "sink" | "echo", port: number): Promise<void> {
  const p = spawn(process.execPath, [SERVERS, mode, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(p);
  return new Promise((res) => p.stdout!.once("data", () => res()));
}

function waitPort(port: number): Promise<void> {
  return new Promise((resolve) => {
    const attempt = () => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => setTimeout(attempt, 50));
    };
    attempt();
  });
}

/** Sends for `seconds` through port; returns Mbit/s of bytes the sink confirmed. */
function throughput(port: number, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const block = Buffer.alloc(256 * 1024, 0x5a);
    let done = false;
    let reply = "";
    const t0 = performance.now();
    const pump = () => {
      while (!done) {
        if (performance.now() - t0 > seconds * 1000) {
          done = true;
          s.end();
          return;
        }
        if (!s.write(block)) return s.once("drain", pump);
      }
    };
    s.on("connect", pump);
    s.on("data", (d) => {
      reply += d;
    });
    s.on("error", reject);
    s.on("end", () => {
      const secs = (performance.now() - t0) / 1000;
      resolve((Number(reply.trim()) * 8) / secs / 1e6);
    });
  });
}

/** `n` streams at once, each sending `bytes`; aggregate Mbit/s and Jain's fairness index. */
async function concurrent(
  port: number,
  n: number,
  bytes: number,
): Promise<{ mbit: number; fairness: number }> {
  const t0 = performance.now();
  const rates = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number>((resolve, reject) => {
          const s = connect(port, "127.0.0.1");
          const block = Buffer.alloc(64 * 1024, 1);
          let sent = 0;
          let reply = "";
          const start = performance.now();
          const pump = () => {
            while (sent < bytes) {
              sent += block.length;
              if (!s.write(block)) return s.once("drain", pump);
            }
            s.end();
          };
          s.on("connect", pump);
          s.on("data", (d) => {
            reply += d;
          });
          s.on("error", reject);
          s.on("end", () => resolve((Number(reply.trim()) * 8) / ((performance.now() - start) / 1000) / 1e6));
        }),
    ),
  );
  const secs = (performance.now() - t0) / 1000;
  const total = n * Math.ceil(bytes / (64 * 1024)) * 64 * 1024;
  const sum = rates.reduce((a, b) => a + b, 0);
  const sq = rates.reduce((a, b) => a + b * b, 0);
  return { mbit: (total * 8) / secs / 1e6, fairness: (sum * sum) / (n * sq) };
}

/** Median round trip of 1-byte pings through an echo service, in ms. */
function echoRtt(port: number, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, "127.0.0.1");
    s.setNoDelay(true);
    const rtts: number[] = [];
    let t = 0;
    const one = Buffer.of(42);
    s.on("connect", () => {
      t = performance.now();
      s.write(one);
    });
    s.on("data", () => {
      rtts.push(performance.now() - t);
      if (rtts.length >= count) {
        s.destroy();
        rtts.sort((a, b) => a - b);
        resolve(rtts[Math.floor(rtts.length / 2)]);
        return;
      }
      t = performance.now();
      s.write(one);
    });
    s.on("error", reject);
  });
}

function rssMb(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "p2ptun-bench-"));
  const P = {
    sink: 17001,
    echo: 17002,
    intro: 17010,
    fwdSink: 17021,
    fwdEcho: 17022,
    kcpServer: 17031,
    kcpClient: 17032,
    kcpEchoS: 17033,
    kcpEchoC: 17034,
  };
  const peaks = { joe: 0, bob: 0 };
  let sampler: NodeJS.Timeout | undefined;
  try {
    if (canDropPackets()) setLoss(0);
    await startServer("sink", P.sink);
    await startServer("echo", P.echo);
    const world = writeWorld({
      dir,
      introducerHost: "127.0.0.1",
      introducerPort: P.intro,
      forwardListen: `127.0.0.1:${P.fwdSink}`,
      target: `127.0.0.1:${P.sink}`,
      extraForwards: [{ listen: `127.0.0.1:${P.fwdEcho}`, connect: `127.0.0.1:${P.echo}` }],
      logLevel: "warn",
    });
    const run = (args: string[]) => {
      const p = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "inherit"] });
      children.push(p);
      return p;
    };
    run(["introducer", "-c", world.introducerConfig]);
    const bob = run(["up", "-c", world.bobConfig]);
    const joe = run(["up", "-c", world.joeConfig]);
    await waitForStatus(world.joeControl, (s) => s.peers[0]?.state === "connected", 30_000);
    sampler = setInterval(() => {
      peaks.joe = Math.max(peaks.joe, rssMb(joe.pid!));
      peaks.bob = Math.max(peaks.bob, rssMb(bob.pid!));
    }, 100);

    const kcpFlags = [
      "--mode",
      "fast3",
      "--sndwnd",
      "2048",
      "--rcvwnd",
      "2048",
      "--crypt",
      "aes",
      "--key",
      "bench",
      "--nocomp",
      "--quiet",
    ];
    const kcp = (bin: string, args: string[]) => {
      const p = spawn(bin, [...args, ...kcpFlags], { stdio: "ignore" });
      children.push(p);
    };
    let haveKcp = true;
    try {
      execFileSync("which", ["kcptun-server"], { stdio: "ignore" });
      kcp("kcptun-server", ["-l", `127.0.0.1:${P.kcpServer}`, "-t", `127.0.0.1:${P.sink}`]);
      kcp("kcptun-client", ["-l", `127.0.0.1:${P.kcpClient}`, "-r", `127.0.0.1:${P.kcpServer}`]);
      kcp("kcptun-server", ["-l", `127.0.0.1:${P.kcpEchoS}`, "-t", `127.0.0.1:${P.echo}`]);
      kcp("kcptun-client", ["-l", `127.0.0.1:${P.kcpEchoC}`, "-r", `127.0.0.1:${P.kcpEchoS}`]);
      await Promise.all([waitPort(P.kcpClient), waitPort(P.kcpEchoC)]);
    } catch {
      haveKcp = false;
      console.log("kcptun not installed (apt-get install kcptun): its column is skipped");
    }

    const rows: [string, number | undefined, number | undefined, number | undefined, string][] = [];
    // Warm-up: lets PMTU probing and slow start settle before anything is measured.
    await throughput(P.fwdSink, 1);
    const tcp1 = await throughput(P.sink, SECONDS);
    const p2p1 = await throughput(P.fwdSink, SECONDS);
    const kcp1 = haveKcp ? await throughput(P.kcpClient, SECONDS) : undefined;
    rows.push(["single stream (Mbit/s)", p2p1, tcp1, kcp1, "≥ 800 and ≥ 1.3× kcptun"]);

    const c64p = await concurrent(P.fwdSink, 64, 4 * 1024 * 1024);
    const c64t = await concurrent(P.sink, 64, 4 * 1024 * 1024);
    const c64k = haveKcp ? await concurrent(P.kcpClient, 64, 4 * 1024 * 1024) : undefined;
    rows.push(["64 streams aggregate (Mbit/s)", c64p.mbit, c64t.mbit, c64k?.mbit, ""]);
    rows.push(["64 streams fairness (Jain, 1 = fair)", c64p.fairness, c64t.fairness, c64k?.fairness, ""]);

    const rttP = await echoRtt(P.fwdEcho, 2000);
    const rttT = await echoRtt(P.echo, 2000);
    const rttK = haveKcp ? await echoRtt(P.kcpEchoC, 2000) : undefined;
    rows.push(["1-byte echo RTT (ms, median)", rttP, rttT, rttK, "within 0.3 ms of TCP"]);

    const lossRows: Record<number, [number | undefined, number | undefined]> = {};
    if (canDropPackets()) {
      for (const pct of [1, 5]) {
        setLoss(pct);
        const p = await throughput(P.fwdSink, SECONDS);
        const k = haveKcp ? await throughput(P.kcpClient, SECONDS) : undefined;
        lossRows[pct] = [p, k];
        rows.push([
          `goodput at ${pct} % UDP loss (Mbit/s)`,
          p,
          undefined,
          k,
          pct === 1 ? "≥ half of lossless" : "",
        ]);
      }
      setLoss(0);
    } else {
      console.log("loss rows skipped: they need root (nftables in a private network namespace)");
    }
    clearInterval(sampler);
    rows.push([
      "daemon peak RSS (MB) joe / bob",
      peaks.joe,
      undefined,
      undefined,
      `bob ${fmt(peaks.bob)}; ≤ 120`,
    ]);

    const pad = (s: string, n: number) => s.padEnd(n);
    console.log("");
    console.log(
      `p2ptun benchmark (loopback${INSIDE ? `, netns ${process.env.P2PTUN_BENCH_NS}` : ""}, ${SECONDS} s per transfer)`,
    );
    console.log(
      `${pad("measure", 40)}${pad("p2ptun", 10)}${pad("TCP", 10)}${pad("kcptun", 10)}${pad("p2p/TCP", 9)}${pad("p2p/kcp", 9)}target`,
    );
    for (const [name, p, t, k, target] of rows) {
      const digits = name.includes("RTT") || name.includes("fairness") ? 3 : 0;
      const ratio = (a?: number, b?: number) => (a !== undefined && b ? (a / b).toFixed(2) : "-");
      console.log(
        `${pad(name, 40)}${pad(fmt(p, digits), 10)}${pad(fmt(t, digits), 10)}${pad(fmt(k, digits), 10)}${pad(ratio(p, t), 9)}${pad(ratio(p, k), 9)}${target}`,
      );
    }
    if (lossRows[1])
      console.log(
        `1 % loss keeps ${((100 * (lossRows[1][0] ?? 0)) / p2p1).toFixed(0)} % of p2ptun's lossless goodput`,
      );
    console.log(`echo RTT: p2ptun adds ${(rttP - rttT).toFixed(3)} ms over plain TCP`);
  } finally {
    clearInterval(sampler);
    await Promise.all(children.map((c) => stopProcess(c)));
    rmSync(dir, { recursive: true, force: true });
  }
}
