/**
 * Three real p2ptun processes on loopback (introducer, joe, bob): the system as a user runs it.
 */
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/demo/ports.js";
import { spawnP2ptun, statusOf, stopProcess, waitForStatus } from "../../src/demo/processes.js";
import { startDigestServer, startEchoServer } from "../../src/demo/targets.js";
import { type World, writeWorld } from "../../src/demo/world.js";
import { runCli } from "../helpers/cli.js";

let dir: string;
let world: World;
let forwardPort: number;
let echoPort: number;
let forbiddenPort: number;
let digest: Awaited<ReturnType<typeof startDigestServer>>;
let forbidden: Awaited<ReturnType<typeof startDigestServer>>;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
const procs: Record<string, ChildProcess> = {};

function roundTrip(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    s.on("data", (d) => got.push(d));
    s.on("end", () => resolve(Buffer.concat(got)));
    s.on("close", () => resolve(Buffer.concat(got)));
    // A refused stream closes the local connection; with our data unread that may be a reset.
    s.on("error", (e: NodeJS.ErrnoException) =>
      e.code === "ECONNRESET" ? resolve(Buffer.concat(got)) : reject(e),
    );
    s.end(data);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "p2ptun-e2e-"));
  digest = await startDigestServer();
  echo = await startEchoServer();
  forbidden = await startDigestServer();
  forwardPort = await freePort();
  echoPort = await freePort();
  forbiddenPort = await freePort();
  const introducerPort = await freePort();
  world = writeWorld({
    dir,
    introducerHost: "127.0.0.1",
    introducerPort,
    forwardListen: `127.0.0.1:${forwardPort}`,
    target: `127.0.0.1:${digest.port}`,
    extraForwards: [
      { listen: `127.0.0.1:${echoPort}`, connect: `127.0.0.1:${echo.port}` },
      { listen: `127.0.0.1:${forbiddenPort}`, connect: `127.0.0.1:${forbidden.port}` },
    ],
    bobAllows: [`127.0.0.1:${digest.port}`, `127.0.0.1:${echo.port}`],
    logLevel: "debug",
  });
  procs.introducer = spawnP2ptun(["introducer", "-c", world.introducerConfig], join(dir, "introducer.log"));
  procs.bob = spawnP2ptun(["up", "-c", world.bobConfig], join(dir, "bob.log"));
  procs.joe = spawnP2ptun(["up", "-c", world.joeConfig], join(dir, "joe.log"));
  await waitForStatus(world.joeControl, (s) => s.peers[0]?.state === "connected", 30_000);
  await waitForStatus(world.bobControl, (s) => s.peers[0]?.state === "connected", 30_000);
});

afterAll(async () => {
  await Promise.all(Object.values(procs).map((p) => stopProcess(p)));
  digest?.server.close();
  echo?.server.close();
  forbidden?.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("loopback: introducer + two daemons", () => {
  it("status --json reports registration and a connected udp path", async () => {
    const r = runCli(["status", "--json", "-c", world.joeConfig]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.name).toBe("joe");
    expect(s.introducers[0]).toMatchObject({ registered: true });
    expect(s.introducers[0].publicEndpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(s.peers[0]).toMatchObject({ name: "bob", state: "connected", path: "udp" });
    const bob = await statusOf(world.bobControl);
    expect(s.peers[0].endpoint).toBe(`127.0.0.1:${bob?.bind.split(":")[1]}`);
    expect(typeof s.peers[0].rttMs).toBe("number");
    const table = runCli(["status", "-c", world.joeConfig]);
    expect(table.stdout).toMatch(/bob\s+connected\s+udp/);
  });

  it("carries a forward byte-exact, both ways", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const back = await roundTrip(echoPort, data);
    expect(back.equals(data)).toBe(true);
    const reply = (await roundTrip(forwardPort, data)).toString().trim();
    expect(reply).toBe(`${data.length} ${createHash("sha256").update(data).digest("hex")}`);
  });

  it("many concurrent streams stay byte-exact", async () => {
    const inputs = Array.from({ length: 32 }, (_, i) => randomBytes(64 * 1024 + i));
    const outs = await Promise.all(inputs.map((d) => roundTrip(echoPort, d)));
    for (const [i, o] of outs.entries()) expect(o.equals(inputs[i])).toBe(true);
  });

  it("a target the exit peer does not allow is refused, never dialled, and both sides log why", async () => {
    const before = forbidden.connections();
    const reply = await roundTrip(forbiddenPort, Buffer.from("hello"));
    expect(reply.length).toBe(0);
    expect(forbidden.connections()).toBe(before);
    await expect
      .poll(() => readFileSync(join(dir, "joe.log"), "utf8"))
      .toMatch(/"code":"NOT_ALLOWED".*forward: stream refused/);
    await expect
      .poll(() => readFileSync(join(dir, "bob.log"), "utf8"))
      .toMatch(/"code":"NOT_ALLOWED".*exit: stream refused/);
  });

  it("p2ptun ping reports the path and RTT; an unknown peer is an error", () => {
    const r = runCli(["ping", "bob", "--count", "2", "-c", world.joeConfig]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pong from bob \(127\.0\.0\.1:\d+\) via udp in \d+\.\d+ms/);
    const bad = runCli(["ping", "carol", "-c", world.joeConfig]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown peer "carol"');
  });

  it("the tunnel survives the introducer going away", async () => {
    await stopProcess(procs.introducer);
    const data = randomBytes(256 * 1024);
    expect((await roundTrip(echoPort, data)).equals(data)).toBe(true);
    const s = await statusOf(world.joeControl);
    expect(s?.peers[0].state).toBe("connected");
    const r = runCli(["ping", "bob", "--count", "1", "-c", world.joeConfig]);
    expect(r.code).toBe(0);
  });
});
