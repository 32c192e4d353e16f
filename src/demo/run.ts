/**
 * `p2ptun demo`: the whole system on loopback, as a newcomer's first look. It writes keys and
 * configs into a temporary folder, starts an introducer and two daemons (joe and bob) as real
 * processes, waits for them to find each other, pushes data through joe's forward to a service
 * on bob's side, and prints the path, round-trip time and throughput.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlRequest } from "../cli/control-client.js";
import { freePort } from "./ports.js";
import { spawnP2ptun, stopProcess, waitForStatus } from "./processes.js";
import { startDigestServer, startEchoServer } from "./targets.js";
import { writeWorld } from "./world.js";

export interface DemoOptions {
  keep: boolean;
  megabytes: number;
  out: NodeJS.WritableStream;
}

const MB = 1024 * 1024;

function progress(out: NodeJS.WritableStream, text: string, final = false): void {
  const tty = (out as NodeJS.WriteStream).isTTY;
  if (tty) out.write(`\r\x1b[2K${text}${final ? "\n" : ""}`);
  else if (final) out.write(`${text}\n`);
}

/** Sends `bytes` of random data through the forward; resolves with the far side's digest check. */
function transfer(
  port: number,
  bytes: number,
  onProgress: (sent: number) => void,
): Promise<{ ok: boolean; seconds: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    const block = randomBytes(256 * 1024);
    const started = performance.now();
    let sent = 0;
    let reply = "";
    const sock = connect(port, "127.0.0.1");
    const pump = () => {
      while (sent < bytes) {
        const chunk = block.subarray(0, Math.min(block.length, bytes - sent));
        hash.update(chunk);
        sent += chunk.length;
        onProgress(sent);
        if (!sock.write(chunk)) {
          sock.once("drain", pump);
          return;
        }
      }
      sock.end();
    };
    sock.on("connect", pump);
    sock.on("data", (d) => {
      reply += d;
    });
    sock.on("error", reject);
    sock.on("end", () => {
      const seconds = (performance.now() - started) / 1000;
      const [n, digest] = reply.trim().split(" ");
      resolve({ ok: Number(n) === bytes && digest === hash.digest("hex"), seconds });
    });
  });
}

export async function runDemo(o: DemoOptions): Promise<boolean> {
  const say = (s: string) => o.out.write(`${s}\n`);
  const dir = mkdtempSync(join(tmpdir(), "p2ptun-demo-"));
  const digest = await startDigestServer();
  const echo = await startEchoServer();
  const introducerPort = await freePort();
  const forwardPort = await freePort();
  const echoPort = await freePort();
  const world = writeWorld({
    dir,
    introducerHost: "127.0.0.1",
    introducerPort,
    forwardListen: `127.0.0.1:${forwardPort}`,
    target: `127.0.0.1:${digest.port}`,
    extraForwards: [{ listen: `127.0.0.1:${echoPort}`, connect: `127.0.0.1:${echo.port}` }],
    logLevel: "info",
  });
  say(`p2ptun demo: keys and configs in ${dir}`);
  const procs = [spawnP2ptun(["introducer", "-c", world.introducerConfig], join(dir, "introducer.log"))];
  say(`  introducer   127.0.0.1:${introducerPort} (UDP+TCP)`);
  procs.push(spawnP2ptun(["up", "-c", world.bobConfig], join(dir, "bob.log")));
  procs.push(spawnP2ptun(["up", "-c", world.joeConfig], join(dir, "joe.log")));
  say(`  bob          exit for 127.0.0.1:${digest.port} (digest service) and 127.0.0.1:${echo.port} (echo)`);
  say(`  joe          forwards 127.0.0.1:${forwardPort} → bob → 127.0.0.1:${digest.port}`);
  const cleanup = async () => {
    await Promise.all(procs.map((p) => stopProcess(p)));
    digest.server.close();
    echo.server.close();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const t0 = performance.now();
    const joe = await waitForStatus(world.joeControl, (s) => s.peers[0]?.state === "connected", 30_000);
    const ms = performance.now() - t0;
    const peer = joe.peers[0];
    const intro = joe.introducers[0];
    say(`joe registered: public endpoint ${intro.publicEndpoint}`);
    say(`joe ↔ bob connected in ${(ms / 1000).toFixed(2)} s: path ${peer.path}, endpoint ${peer.endpoint}`);
    const rtts: number[] = [];
    await controlRequest(world.joeControl, { cmd: "ping", peer: "bob", count: 3 }, (line) => {
      if (typeof line.rttMs === "number") rtts.push(line.rttMs);
    });
    if (rtts.length)
      say(`round trip (p2ptun ping): ${Math.min(...rtts).toFixed(2)} ms min of ${rtts.length}`);
    const bytes = o.megabytes * MB;
    let lastShown = 0;
    const r = await transfer(forwardPort, bytes, (sent) => {
      if (sent - lastShown >= 8 * MB || sent === bytes) {
        lastShown = sent;
        progress(
          o.out,
          `sending ${o.megabytes} MB through the forward: ${Math.round((100 * sent) / bytes)}%`,
        );
      }
    });
    const mbit = (bytes * 8) / r.seconds / 1e6;
    progress(
      o.out,
      `sent ${o.megabytes} MB through joe → bob in ${r.seconds.toFixed(2)} s: ${mbit.toFixed(0)} Mbit/s, ${r.ok ? "byte-exact (sha256 checked on bob's side)" : "DATA MISMATCH"}`,
      true,
    );
    if (!r.ok) return false;
    if (o.keep) {
      say("");
      say("The demo stays up (Ctrl-C to stop). Try:");
      say(
        `  echo hello | nc -q1 127.0.0.1 ${echoPort}        # echoed back by a server on bob's side, through the tunnel`,
      );
      say(`  p2ptun status -c ${world.joeConfig}`);
      say(`  p2ptun ping bob -c ${world.joeConfig}`);
      say(`  logs: ${dir}/*.log`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
    }
    return true;
  } catch (e) {
    say(`demo failed: ${(e as Error).message}`);
    say(`logs are in ${dir}`);
    o.keep = true; // keep the logs for a look
    return false;
  } finally {
    await cleanup();
  }
}
