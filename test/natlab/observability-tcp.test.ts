/**
 * What an operator sees when UDP is blocked on both NATs and the peers talk over the TCP
 * fallback (issue 6, "Seeing"): `p2ptun status` shows the TCP registration and the `tcp` path
 * with its reason, and /metrics counts the TCP punch, the path, and the bytes of a transfer.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeNatlab, failOnLeftoverNamespaces, type LabHost, useLab } from "./lab.js";
import { connected, expectedDigest, P2pWorld, registered } from "./p2p-world.js";

failOnLeftoverNamespaces();

const METRICS = "127.0.0.1:9464";

async function scrape(host: LabHost): Promise<string> {
  const r = await host.exec([
    process.execPath,
    "-e",
    `fetch("http://${METRICS}/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))`,
  ]);
  expect(r.stderr).toBe("");
  return r.stdout;
}

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  throw new Error(`metric ${name}${JSON.stringify(labels)} not found`);
}

describeNatlab("status and metrics over the TCP fallback (UDP dropped on both NATs)", () => {
  const ctx = useLab({ a: { nat: "udp-blocked-drop" }, b: { nat: "udp-blocked-drop" } });
  let w: P2pWorld;
  beforeAll(() => {
    w = new P2pWorld(ctx.lab, { joe: { metrics: { listen: METRICS } } });
    w.startIntroducer();
    w.startTarget("digest");
    w.startBob();
    w.startJoe();
  });
  afterAll(async () => {
    await w?.destroy();
  });

  it("status: registered over TCP only, peer connected over tcp with a reason", async () => {
    await w.waitJoe(registered, 20_000);
    const s = await w.waitJoe(connected, 30_000);
    expect(s.introducers[0].registered).toBe(true);
    expect(s.introducers[0].publicEndpoint).toBeNull();
    expect(s.introducers[0].tcpPublicEndpoint?.split(":")[0]).toBe(ctx.lab.natPublicIp("a"));
    expect(s.introducers[0].lastContactAgoMs).not.toBeNull();
    const bob = s.peers[0];
    expect(bob.path).toBe("tcp");
    expect(bob.endpoint?.split(":")[0]).toBe(ctx.lab.natPublicIp("b"));
    expect(bob.reason).toMatch(/^over TCP: /);
    expect(s.metrics).toBe(METRICS);
  });

  it("metrics: the TCP punch, the tcp path, and bytes that grow with a transfer", async () => {
    await w.waitJoe(connected, 30_000);
    const before = await scrape(ctx.lab.a);
    expect(metric(before, "p2ptun_peer_connected", { peer: "bob", path: "tcp" })).toBe(1);
    expect(metric(before, "p2ptun_introducer_registered")).toBe(1);
    expect(metric(before, "p2ptun_introducer_registrations_total")).toBeGreaterThanOrEqual(1);
    expect(metric(before, "p2ptun_introductions_total")).toBeGreaterThanOrEqual(1);
    expect(metric(before, "p2ptun_punch_attempts_total", { path: "tcp" })).toBeGreaterThanOrEqual(1);
    expect(
      metric(before, "p2ptun_punch_outcomes_total", { path: "tcp", outcome: "success" }),
    ).toBeGreaterThanOrEqual(1);

    const bytes = 4 * 1024 * 1024;
    const r = await w.sendThroughForward(bytes);
    expect(r.reply).toBe(expectedDigest(bytes));

    const after = await scrape(ctx.lab.a);
    const grew = (name: string, labels: Record<string, string>) =>
      metric(after, name, labels) - metric(before, name, labels);
    expect(grew("p2ptun_stream_bytes_total", { peer: "bob", direction: "out" })).toBe(bytes);
    expect(grew("p2ptun_peer_bytes_total", { peer: "bob", direction: "out" })).toBeGreaterThanOrEqual(bytes);
    expect(grew("p2ptun_streams_total", { peer: "bob", kind: "out" })).toBe(1);
    // Retransmission over TCP is the kernel's business: our reliable layer is not on this path.
    expect(grew("p2ptun_retransmitted_bytes_total", { peer: "bob" })).toBe(0);
  });
});
