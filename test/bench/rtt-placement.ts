/**
 * The 1-byte echo round trip through a forward, with the four processes (ping client, joe's
 * daemon, bob's daemon, echo server) pinned to chosen CPUs (taskset), next to plain TCP echo.
 *
 * Why: on a 2-core machine the echo RTT `npm run bench` reports depends mostly on where the kernel
 * places those four processes. When a daemon shares a CPU with its TCP partner (client or echo
 * server) the partner runs only after the daemon finishes its turn, so every step is serial;
 * when they sit on different CPUs the steps overlap. The kernel's wake-affine placement drifts
 * between the two from run to run, which is why the bench's RTT row varies by 2×. This script
 * measures each placement on purpose. Linux only (taskset from util-linux).
 *
 * Run: npx tsx test/bench/rtt-placement.ts   (P2PTUN_BENCH_RUNS=7 runs of 2000 pings per row;
 * P2PTUN_BENCH_CLI=path/to/dist/cli/main.js measures another build)
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, stopProcess } from "../../src/demo/processes.js";
import { startDaemons } from "./daemons.js";

const RUNS = Number(process.env.P2PTUN_BENCH_RUNS ?? 7);
const DAEMON_CLI = process.env.P2PTUN_BENCH_CLI ?? CLI;
/** The sink is never used here; its forward just has to exist. */
const PORTS = { sink: 27001, echo: 27002, intro: 27010, fwdSink: 27021, fwdEcho: 27022 };

/** CPU of client, joe, bob, echo server in each row. */
const PLACEMENTS: Array<{ name: string; cpus: [number, number, number, number] }> = [
  { name: "each daemon apart from its TCP partner", cpus: [0, 1, 0, 1] },
  { name: "each daemon with its TCP partner", cpus: [0, 0, 1, 1] },
  { name: "all four on one CPU", cpus: [0, 0, 0, 0] },
];

function pin(pid: number, cpu: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
}

/** Median round trip (ms) of `count` 1-byte pings through an echo service on `port`. */
function echoRtt(port: number, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    s.setNoDelay(true);
    const rtts: number[] = [];
    let t = 0;
    s.on("connect", () => {
      t = performance.now();
      s.write(Buffer.of(42));
    });
    s.on("data", () => {
      rtts.push(performance.now() - t);
      if (rtts.length === count) {
        s.destroy();
        rtts.sort((a, b) => a - b);
        resolve(rtts[count >> 1]);
        return;
      }
      t = performance.now();
      s.write(Buffer.of(42));
    });
    s.on("error", reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const dir = mkdtempSync(join(tmpdir(), "p2ptun-rtt-"));
const children: ChildProcess[] = [];
try {
  const server = spawn(
    process.execPath,
    [join(import.meta.dirname, "servers.mjs"), "echo", String(PORTS.echo)],
    {
      stdio: "ignore",
    },
  );
  children.push(server);
  const { joe, bob } = await startDaemons({ dir, cli: DAEMON_CLI, ports: PORTS, children });
  await echoRtt(PORTS.fwdEcho, 2000); // warm-up: JIT, path MTU, timers
  console.log(`echo RTT, median of ${RUNS} runs of 2000 pings (ms)   [client, joe, bob, echo] CPUs`);
  for (const { name, cpus } of PLACEMENTS) {
    const pids = [process.pid, joe.pid, bob.pid, server.pid];
    for (let i = 0; i < pids.length; i++) pin(pids[i] as number, cpus[i]);
    const p2p: number[] = [];
    const tcp: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      p2p.push(await echoRtt(PORTS.fwdEcho, 2000));
      tcp.push(await echoRtt(PORTS.echo, 2000));
    }
    const range = `${Math.min(...p2p).toFixed(3)}–${Math.max(...p2p).toFixed(3)}`;
    console.log(
      `${name.padEnd(40)} p2ptun ${median(p2p).toFixed(3)} (${range})  TCP ${median(tcp).toFixed(3)}  [${cpus.join(", ")}]`,
    );
  }
} finally {
  await Promise.all(children.map((c) => stopProcess(c)));
  rmSync(dir, { recursive: true, force: true });
}
