/**
 * The daemon's Prometheus collectors (src/daemon/metrics.ts) over a fake source: values are read
 * at scrape time, and per-link counters carry over when a link is replaced, so no `_total` ever
 * goes down. The HTTP side: /metrics served, other paths 404, a non-loopback address warned about.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { daemonRegistry, serveMetrics } from "../../src/daemon/metrics.js";
import type { DaemonMetricsSource, PeerSource } from "../../src/daemon/metrics-source.js";
import type { Logger } from "../../src/util/logger.js";

/** One object per link id: metrics tell links apart by identity. */
const linkKeys = new Map<number, object>();
function linkKey(id: number): object {
  let k = linkKeys.get(id);
  if (!k) {
    k = { id };
    linkKeys.set(id, k);
  }
  return k;
}

function peerSource(linkId: number | null, retransmitted: number, streamsOpened: number): PeerSource {
  return {
    status: {
      name: "bob",
      state: linkId === null ? "connecting" : "connected",
      path: linkId === null ? null : "udp",
      endpoint: "203.0.113.66:4000",
      rttMs: 20,
      bytesIn: 0,
      bytesOut: 0,
      streams: 1,
      lastPacketAgoMs: 100,
      reason: null,
    },
    counters: { punchAttempts: 2, punchSuccesses: 1, punchFailures: 1, linksCreated: 1 },
    session: { txBytes: 1000, rxBytes: 2000 },
    link:
      linkId === null
        ? null
        : {
            key: linkKey(linkId),
            channel: { retransmittedBytes: retransmitted, packetsLost: 0, packetsMalformed: 0 },
            mux: {
              streamsOpened,
              streamsAccepted: 0,
              streamsRefused: 0,
              protocolErrors: 0,
              dataBytesIn: 0,
              dataBytesOut: 0,
            },
          },
  };
}

function source(peer: PeerSource): DaemonMetricsSource {
  return {
    name: "joe",
    introducers: [
      {
        label: "198.51.100.2:2345",
        registered: true,
        rttMs: 30,
        drops: { received: 10, malformed: 2 },
        events: { registered: 1, introduction: 3 },
      },
    ],
    peers: [peer],
    session: { handshakeFailed: 4, decryptFail: 5 },
    udp: { received: 100, unknownType: 1 },
    daemon: { discoUnknownPeer: 0, introducerUnknownSource: 0 },
    exit: { accepted: 1, refused: 2, active: 0 },
    listeners: [
      {
        kind: "forward",
        listen: "127.0.0.1:2200",
        peer: "bob",
        connect: "127.0.0.1:22",
        listening: true,
        active: 1,
      },
    ],
  };
}

async function value(
  reg: ReturnType<typeof daemonRegistry>,
  name: string,
  labels: Record<string, string> = {},
) {
  const m = await reg.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => String(x.labels[k]) === l));
  return v?.value;
}

describe("daemon metrics", () => {
  it("reads the sources at scrape time", async () => {
    let peer = peerSource(1, 0, 0);
    const reg = daemonRegistry(() => source(peer));
    expect(await value(reg, "p2ptun_peer_bytes_total", { direction: "in" })).toBe(2000);
    expect(await value(reg, "p2ptun_handshake_failures_total")).toBe(4);
    expect(
      await value(reg, "p2ptun_dropped_packets_total", { layer: "session", reason: "decryptFail" }),
    ).toBe(5);
    expect(
      await value(reg, "p2ptun_dropped_packets_total", { layer: "introducer", reason: "malformed" }),
    ).toBe(2);
    expect(await value(reg, "p2ptun_introductions_total")).toBe(3);
    expect(await value(reg, "p2ptun_punch_outcomes_total", { path: "udp", outcome: "success" })).toBe(1);
    expect(await value(reg, "p2ptun_listener_active_connections", { listen: "127.0.0.1:2200" })).toBe(1);
    peer = { ...peer, session: { txBytes: 5000, rxBytes: 7000 } };
    await new Promise((r) => setTimeout(r, 60)); // past the per-scrape snapshot
    expect(await value(reg, "p2ptun_peer_bytes_total", { direction: "in" })).toBe(7000);
  });

  it("per-link counters carry over a link replacement and a gap without a link", async () => {
    let peer = peerSource(1, 100, 2);
    const reg = daemonRegistry(() => source(peer));
    const scrape = async (p: PeerSource) => {
      peer = p;
      await new Promise((r) => setTimeout(r, 60));
      return {
        retransmitted: await value(reg, "p2ptun_retransmitted_bytes_total"),
        opened: await value(reg, "p2ptun_streams_total", { kind: "out" }),
      };
    };
    expect(await scrape(peerSource(1, 100, 2))).toEqual({ retransmitted: 100, opened: 2 });
    expect(await scrape(peerSource(1, 150, 3))).toEqual({ retransmitted: 150, opened: 3 });
    expect(await scrape(peerSource(null, 0, 0))).toEqual({ retransmitted: 150, opened: 3 });
    expect(await scrape(peerSource(2, 10, 1))).toEqual({ retransmitted: 160, opened: 4 });
    expect(await scrape(peerSource(3, 0, 0))).toEqual({ retransmitted: 160, opened: 4 });
  });
});

describe("metrics HTTP server", () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });
  const logger = () =>
    ({ warn: vi.fn(), info: vi.fn() }) as unknown as Logger & { warn: ReturnType<typeof vi.fn> };

  it("serves /metrics on loopback without a warning; other paths are 404", async () => {
    const log = logger();
    const server = await serveMetrics(
      "127.0.0.1:0",
      daemonRegistry(() => source(peerSource(1, 0, 0))),
      log,
    );
    closers.push(server.close);
    expect(log.warn).not.toHaveBeenCalled();
    const r = await fetch(`http://127.0.0.1:${server.address.port}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/^p2ptun_peer_connected\{peer="bob",path="udp"\} 1$/m);
    expect((await fetch(`http://127.0.0.1:${server.address.port}/other`)).status).toBe(404);
  });

  it("warns when listening beyond loopback", async () => {
    const log = logger();
    const server = await serveMetrics(
      "0.0.0.0:0",
      daemonRegistry(() => source(peerSource(1, 0, 0))),
      log,
    );
    closers.push(server.close);
    expect(log.warn).toHaveBeenCalledOnce();
    expect(String(log.warn.mock.calls[0][1])).toMatch(/not loopback; \/metrics has no authentication/);
  });
});
