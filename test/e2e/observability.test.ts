/**
 * What an operator sees of real processes on loopback: `p2ptun status` (JSON and table) with
 * every field issue 6 asks for, and the Prometheus /metrics of a daemon and of the introducer,
 * whose values move with real traffic.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { encodeKey, generateKeyPair } from "../../src/crypto/keys.js";
import { IDLE_REASON } from "../../src/daemon/peer-status.js";
import type { DaemonStatus } from "../../src/daemon/status-types.js";
import { freePort } from "../../src/demo/ports.js";
import { spawnP2ptun, statusOf, stopProcess, waitForStatus } from "../../src/demo/processes.js";
import { startEchoServer } from "../../src/demo/targets.js";
import { type World, writeWorld } from "../../src/demo/world.js";
import { runCli } from "../helpers/cli.js";

let dir: string;
let world: World;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let echoForward: number;
let carolForward: number;
let joeMetrics: number;
let introducerMetrics: number;
const procs: Record<string, ChildProcess> = {};

function editYaml(file: string, edit: (doc: Record<string, unknown>) => void): void {
  const doc = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(doc);
  writeFileSync(file, stringify(doc));
}

function roundTrip(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    s.on("data", (d) => got.push(d));
    s.on("close", () => resolve(Buffer.concat(got)));
    s.on("error", reject);
    s.end(data);
  });
}

async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/text\/plain/);
  return r.text();
}

/** The value of `name{labels}` in a Prometheus text exposition (labels matched as a subset). */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  throw new Error(`metric ${name}${JSON.stringify(labels)} not found`);
}

/**
 * `p2ptun status` through the real CLI, repeated until `ok` holds: carol cycles between `failed`
 * and a short `connecting` on every retry, so one sample may catch the retry in flight.
 */
async function cliStatusWhen(args: string[], ok: (stdout: string) => boolean): Promise<string> {
  let last = "";
  for (let i = 0; i < 20; i++) {
    const r = runCli(["status", ...args, "-c", world.joeConfig]);
    expect(r.code).toBe(0);
    last = r.stdout;
    if (ok(last)) return last;
    await new Promise((res) => setTimeout(res, 100));
  }
  return last;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "p2ptun-obs-"));
  echo = await startEchoServer();
  echoForward = await freePort();
  carolForward = await freePort();
  joeMetrics = await freePort();
  introducerMetrics = await freePort();
  const introducerPort = await freePort();
  world = writeWorld({
    dir,
    introducerHost: "127.0.0.1",
    introducerPort,
    forwardListen: `127.0.0.1:${echoForward}`,
    target: `127.0.0.1:${echo.port}`,
  });
  // joe also knows carol (whom the introducer does not know: never connects) and dave (unused).
  editYaml(world.joeConfig, (doc) => {
    const peers = doc.peers as unknown[];
    peers.push({ name: "carol", publicKey: encodeKey(generateKeyPair().publicKey) });
    peers.push({ name: "dave", publicKey: encodeKey(generateKeyPair().publicKey) });
    (doc.forwards as unknown[]).push({
      listen: `127.0.0.1:${carolForward}`,
      peer: "carol",
      connect: "127.0.0.1:9",
    });
    doc.metrics = { listen: `127.0.0.1:${joeMetrics}` };
  });
  editYaml(world.introducerConfig, (doc) => {
    doc.metrics = { listen: `127.0.0.1:${introducerMetrics}` };
  });
  expect(runCli(["check", "-c", world.joeConfig]).code).toBe(0);
  expect(runCli(["check", "-c", world.introducerConfig]).code).toBe(0);
  procs.introducer = spawnP2ptun(["introducer", "-c", world.introducerConfig], join(dir, "introducer.log"));
  procs.bob = spawnP2ptun(["up", "-c", world.bobConfig], join(dir, "bob.log"));
  procs.joe = spawnP2ptun(["up", "-c", world.joeConfig], join(dir, "joe.log"));
  const bobConnected = (s: DaemonStatus) => s.peers.find((p) => p.name === "bob")?.state === "connected";
  await waitForStatus(world.joeControl, bobConnected, 30_000);
  await waitForStatus(world.bobControl, (s) => s.peers[0]?.state === "connected", 30_000);
  // carol's introduction is refused at once; wait until joe says so.
  await waitForStatus(
    world.joeControl,
    (s) => s.peers.find((p) => p.name === "carol")?.state === "failed",
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(Object.values(procs).map((p) => stopProcess(p)));
  echo?.server.close();
  if (process.env.P2PTUN_KEEP_LOGS) console.log(`[observability] logs kept in ${dir}`);
  else if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("p2ptun status", () => {
  it("--json: introducers, peers (connected, failed with a reason, idle with a reason), listeners", async () => {
    const carolFailed = (out: string) =>
      (JSON.parse(out) as DaemonStatus).peers.find((p) => p.name === "carol")?.state === "failed";
    const s = JSON.parse(await cliStatusWhen(["--json"], carolFailed)) as DaemonStatus;
    expect(s.uptimeMs).toBeGreaterThan(0);
    expect(s.metrics).toBe(`127.0.0.1:${joeMetrics}`);
    const intro = s.introducers[0];
    expect(intro.registered).toBe(true);
    expect(intro.publicEndpoint).toBe(`127.0.0.1:${s.bind.split(":")[1]}`);
    expect(intro.lastContactAgoMs).toBeGreaterThanOrEqual(0);
    expect(intro.lastContactAgoMs).toBeLessThan(60_000);
    expect(typeof intro.rttMs).toBe("number");
    expect(intro.refused).toBeNull();

    const bob = s.peers.find((p) => p.name === "bob");
    expect(bob).toMatchObject({ state: "connected", path: "udp", reason: null });
    expect(bob?.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(bob?.rttMs).toBeGreaterThanOrEqual(0);
    expect(bob?.bytesIn).toBeGreaterThan(0);
    expect(bob?.bytesOut).toBeGreaterThan(0);
    expect(bob?.lastPacketAgoMs).toBeLessThan(60_000);
    expect(bob?.handshakeAgoMs).toBeGreaterThanOrEqual(0);

    const carol = s.peers.find((p) => p.name === "carol");
    expect(carol?.state).toBe("failed");
    expect(carol?.path).toBeNull();
    expect(carol?.reason).toMatch(/introducer refused/);
    expect(carol?.reason).toMatch(/retrying in \d+ s/);

    const dave = s.peers.find((p) => p.name === "dave");
    expect(dave).toMatchObject({ state: "idle", reason: IDLE_REASON, bytesIn: 0, bytesOut: 0, streams: 0 });

    expect(s.listeners).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: "forward",
          listen: `127.0.0.1:${echoForward}`,
          peer: "bob",
          listening: true,
        }),
        expect.objectContaining({
          kind: "forward",
          listen: `127.0.0.1:${carolForward}`,
          peer: "carol",
          listening: true,
        }),
      ]),
    );
  });

  it("an open connection shows as a stream and an active listener connection; bytes grow", async () => {
    const before = (await statusOf(world.joeControl)) as DaemonStatus;
    const sock: Socket = connect(echoForward, "127.0.0.1");
    const payload = randomBytes(200_000);
    let got = 0;
    const echoed = new Promise<void>((resolve) =>
      sock.on("data", (d) => {
        got += d.length;
        if (got >= payload.length) resolve();
      }),
    );
    sock.write(payload);
    await echoed;
    const during = await waitForStatus(
      world.joeControl,
      (s) => (s.peers.find((p) => p.name === "bob")?.streams ?? 0) >= 1,
      5000,
    );
    const bob = during.peers.find((p) => p.name === "bob");
    const bobBefore = before.peers.find((p) => p.name === "bob");
    expect(bob?.bytesOut).toBeGreaterThanOrEqual((bobBefore?.bytesOut ?? 0) + payload.length);
    expect(bob?.bytesIn).toBeGreaterThanOrEqual((bobBefore?.bytesIn ?? 0) + payload.length);
    expect(during.listeners.find((l) => l.listen === `127.0.0.1:${echoForward}`)?.active).toBe(1);

    const table = await cliStatusWhen([], (out) => /carol\s+failed/.test(out));
    expect(table).toMatch(
      /bob\s+connected\s+udp\s+127\.0\.0\.1:\d+\s+\d+\.\d+ms\s+[\d.]+ [KM]iB\s+[\d.]+ [KM]iB\s+1\s/,
    );
    expect(table).toMatch(/carol\s+failed/);
    expect(table).toMatch(/ {2}carol: the introducer refused/);
    expect(table).toContain(`  dave: ${IDLE_REASON}`);
    expect(table).toMatch(
      new RegExp(`127\\.0\\.0\\.1:${echoForward}\\s+forward\\s+bob\\s+127\\.0\\.0\\.1:\\d+\\s+yes\\s+1`),
    );
    expect(table).toContain(`metrics http://127.0.0.1:${joeMetrics}/metrics`);

    sock.end();
    await new Promise((r) => sock.on("close", r));
    await waitForStatus(world.joeControl, (s) => s.peers.find((p) => p.name === "bob")?.streams === 0, 5000);
  });
});

describe("metrics", () => {
  it("the daemon's /metrics moves with real traffic", async () => {
    const before = await scrape(joeMetrics);
    expect(metric(before, "p2ptun_info", { name: "joe" })).toBe(1);
    expect(metric(before, "p2ptun_introducer_registered")).toBe(1);
    expect(metric(before, "p2ptun_introducer_registrations_total")).toBeGreaterThanOrEqual(1);
    expect(metric(before, "p2ptun_introductions_total")).toBeGreaterThanOrEqual(1);
    expect(metric(before, "p2ptun_peer_connected", { peer: "bob", path: "udp" })).toBe(1);
    expect(metric(before, "p2ptun_peer_state", { peer: "carol", state: "failed" })).toBe(1);
    expect(metric(before, "p2ptun_peer_state", { peer: "dave", state: "idle" })).toBe(1);
    expect(metric(before, "p2ptun_punch_attempts_total", { path: "udp" })).toBeGreaterThanOrEqual(1);
    expect(
      metric(before, "p2ptun_punch_outcomes_total", { path: "udp", outcome: "success" }),
    ).toBeGreaterThanOrEqual(1);
    expect(metric(before, "p2ptun_introducer_events_total", { event: "refused" })).toBeGreaterThanOrEqual(1);
    expect(metric(before, "p2ptun_handshake_failures_total")).toBe(0);
    expect(metric(before, "p2ptun_dropped_packets_total", { layer: "session", reason: "decryptFail" })).toBe(
      0,
    );
    expect(metric(before, "p2ptun_listener_up", { listen: `127.0.0.1:${echoForward}` })).toBe(1);
    expect(metric(before, "process_resident_memory_bytes")).toBeGreaterThan(0);

    const data = randomBytes(2 * 1024 * 1024);
    expect((await roundTrip(echoForward, data)).equals(data)).toBe(true);

    const after = await scrape(joeMetrics);
    const grew = (name: string, labels: Record<string, string>) =>
      metric(after, name, labels) - metric(before, name, labels);
    expect(grew("p2ptun_peer_bytes_total", { peer: "bob", direction: "out" })).toBeGreaterThanOrEqual(
      data.length,
    );
    expect(grew("p2ptun_peer_bytes_total", { peer: "bob", direction: "in" })).toBeGreaterThanOrEqual(
      data.length,
    );
    expect(grew("p2ptun_stream_bytes_total", { peer: "bob", direction: "out" })).toBe(data.length);
    expect(grew("p2ptun_stream_bytes_total", { peer: "bob", direction: "in" })).toBe(data.length);
    expect(grew("p2ptun_streams_total", { peer: "bob", kind: "out" })).toBe(1);
    await expect
      .poll(async () => metric(await scrape(joeMetrics), "p2ptun_open_streams", { peer: "bob" }))
      .toBe(0);
    expect(metric(after, "p2ptun_retransmitted_bytes_total", { peer: "bob" })).toBeGreaterThanOrEqual(0);

    const notFound = await fetch(`http://127.0.0.1:${joeMetrics}/nope`);
    expect(notFound.status).toBe(404);
  });

  it("the introducer's /metrics counts registrations and registered peers", async () => {
    const text = await scrape(introducerMetrics);
    expect(metric(text, "p2ptun_introducer_registered_peers")).toBe(2);
    expect(
      metric(text, "p2ptun_introducer_server_events_total", { event: "registrations" }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      metric(text, "p2ptun_introducer_server_events_total", { event: "introductionsStarted" }),
    ).toBeGreaterThanOrEqual(1);
    expect(metric(text, "p2ptun_introducer_server_events_total", { event: "received" })).toBeGreaterThan(0);
    expect(
      metric(text, "p2ptun_introducer_server_level", { what: "pendingIntroductions" }),
    ).toBeGreaterThanOrEqual(0);
  });
});
