/**
 * SIGHUP reloads the daemon's config without touching unaffected streams; an invalid config is
 * refused and the running one kept; SIGTERM closes everything and exits 0.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { freePort } from "../../src/demo/ports.js";
import { spawnP2ptun, stopProcess, waitForStatus } from "../../src/demo/processes.js";
import { startEchoServer } from "../../src/demo/targets.js";
import { type World, writeWorld } from "../../src/demo/world.js";

let dir: string;
let world: World;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let forwardPort: number;
const procs: Record<string, ChildProcess> = {};

function echoOnce(sock: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    sock.once("data", (d) => resolve(d.toString()));
    sock.write(text);
  });
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "p2ptun-reload-"));
  echo = await startEchoServer();
  forwardPort = await freePort();
  world = writeWorld({
    dir,
    introducerHost: "127.0.0.1",
    introducerPort: await freePort(),
    forwardListen: `127.0.0.1:${forwardPort}`,
    target: `127.0.0.1:${echo.port}`,
    logLevel: "info",
  });
  procs.introducer = spawnP2ptun(["introducer", "-c", world.introducerConfig], join(dir, "introducer.log"));
  procs.bob = spawnP2ptun(["up", "-c", world.bobConfig], join(dir, "bob.log"));
  procs.joe = spawnP2ptun(["up", "-c", world.joeConfig], join(dir, "joe.log"));
  await waitForStatus(world.joeControl, (s) => s.peers[0]?.state === "connected", 30_000);
});

afterAll(async () => {
  await Promise.all(Object.values(procs).map((p) => stopProcess(p)));
  echo?.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("reload and shutdown", () => {
  it("SIGHUP adds a forward while an open stream keeps working", async () => {
    const held = await openSocket(forwardPort);
    expect(await echoOnce(held, "before")).toBe("before");
    const extra = await freePort();
    const cfg = parse(readFileSync(world.joeConfig, "utf8"));
    cfg.forwards.push({ listen: `127.0.0.1:${extra}`, peer: "bob", connect: `127.0.0.1:${echo.port}` });
    writeFileSync(world.joeConfig, stringify(cfg));
    procs.joe.kill("SIGHUP");
    await waitForStatus(world.joeControl, (s) =>
      s.listeners.some((l) => l.listen === `127.0.0.1:${extra}` && l.listening),
    );
    const fresh = await openSocket(extra);
    expect(await echoOnce(fresh, "new forward")).toBe("new forward");
    expect(await echoOnce(held, "after")).toBe("after");
    fresh.destroy();
    held.destroy();
  });

  it("SIGHUP with an invalid config is refused and the running config kept", async () => {
    const good = readFileSync(world.joeConfig, "utf8");
    writeFileSync(world.joeConfig, good.replace(/listen: 127\.0\.0\.1:\d+/, 'listen: "nonsense"'));
    procs.joe.kill("SIGHUP");
    await expect
      .poll(() => readFileSync(join(dir, "joe.log"), "utf8"), { timeout: 10_000 })
      .toMatch(/reload refused, keeping the running config: .*joe\.yaml:\d+:\d+: forwards\[0\]\.listen/);
    const s = await waitForStatus(world.joeControl, () => true);
    expect(s.listeners.filter((l) => l.listening)).toHaveLength(2);
    const sock = await openSocket(forwardPort);
    expect(await echoOnce(sock, "still here")).toBe("still here");
    sock.destroy();
    writeFileSync(world.joeConfig, good);
  });

  it("SIGTERM closes streams and exits 0", async () => {
    const sock = await openSocket(forwardPort);
    expect(await echoOnce(sock, "x")).toBe("x");
    const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
    sock.on("error", () => {});
    const code = await stopProcess(procs.joe, "SIGTERM");
    expect(code).toBe(0);
    await closed;
    expect(readFileSync(join(dir, "joe.log"), "utf8")).toMatch(/"msg":"stopped"/);
  });
});
