/**
 * `p2ptun status` without a daemon: the table rendering of a DaemonStatus, and how a peer's line
 * is completed from the SessionManager's view (src/daemon/peer-status.ts).
 */
import { describe, expect, it } from "vitest";
import { renderStatus } from "../../src/cli/render-status.js";
import { completePeerStatus, IDLE_REASON } from "../../src/daemon/peer-status.js";
import type { DaemonStatus, PeerStatus } from "../../src/daemon/status-types.js";

const peer = (over: Partial<PeerStatus>): PeerStatus => ({
  name: "bob",
  state: "connected",
  path: "udp",
  endpoint: "203.0.113.66:4000",
  rttMs: 12.345,
  bytesIn: 0,
  bytesOut: 0,
  streams: 0,
  lastPacketAgoMs: null,
  reason: null,
  ...over,
});

const status: DaemonStatus = {
  name: "joe",
  publicKey: "lLZHDlAd4cJt6DqIMNp5A+m/3tKiyeGh5l3ykT1ItQA=",
  uptimeMs: 3 * 3600_000 + 5 * 60_000,
  bind: "0.0.0.0:41641",
  metrics: "127.0.0.1:9464",
  introducers: [
    {
      address: "198.51.100.2:2345",
      registered: true,
      publicEndpoint: "203.0.113.2:41641",
      tcpPublicEndpoint: "203.0.113.2:41641",
      lastContactAgoMs: 4200,
      rttMs: 23.4,
      refused: null,
    },
    {
      address: "intro2.example:2345",
      registered: false,
      publicEndpoint: null,
      tcpPublicEndpoint: null,
      lastContactAgoMs: null,
      rttMs: null,
      refused:
        "VERSION: this introducer speaks introducer protocol 2, this daemon 3: run the same p2ptun release on both",
    },
  ],
  peers: [
    peer({
      bytesIn: 5 * 1024 * 1024,
      bytesOut: 2048,
      streams: 3,
      lastPacketAgoMs: 800,
      handshakeAgoMs: 65_000,
    }),
    peer({
      name: "carol",
      state: "failed",
      path: null,
      endpoint: null,
      rttMs: null,
      reason: "the introducer refused: carol is not registered; retrying in 4 s",
    }),
    peer({ name: "dave", state: "idle", path: null, endpoint: null, rttMs: null, reason: IDLE_REASON }),
  ],
  listeners: [
    {
      kind: "forward",
      listen: "127.0.0.1:2200",
      peer: "bob",
      connect: "127.0.0.1:22",
      listening: true,
      active: 2,
    },
    {
      kind: "socks",
      listen: "127.0.0.1:1080",
      peer: "bob",
      listening: false,
      active: 0,
      error: "EADDRINUSE",
    },
  ],
};

describe("status table", () => {
  const text = renderStatus(status);

  it("header: name, key, bind, uptime, metrics", () => {
    expect(text).toMatch(/^joe {2}lLZH\S+ {2}bind 0\.0\.0\.0:41641 {2}up 3h05m\n/);
    expect(text).toContain("metrics http://127.0.0.1:9464/metrics");
  });

  it("one line per introducer with both public endpoints and the last contact", () => {
    expect(text).toMatch(
      /198\.51\.100\.2:2345\s+yes\s+203\.0\.113\.2:41641\s+203\.0\.113\.2:41641\s+23\.4ms\s+4s ago/,
    );
    expect(text).toMatch(/intro2\.example:2345\s+no\s+-\s+-\s+-\s+-/);
    expect(text).toContain(
      "  intro2.example:2345: refused our registration: VERSION: this introducer speaks introducer protocol 2",
    );
    expect(text).not.toContain("198.51.100.2:2345: refused");
  });

  it("one line per peer: state, path, endpoint, RTT, bytes, streams, last packet, handshake", () => {
    expect(text).toMatch(
      /bob\s+connected\s+udp\s+203\.0\.113\.66:4000\s+12\.35ms\s+5\.0 MiB\s+2\.0 KiB\s+3\s+800ms ago\s+65s ago/,
    );
    expect(text).toMatch(/carol\s+failed\s+-\s+-\s+-\s+0 B\s+0 B\s+0\s+-/);
  });

  it("why each peer that is not connected is not, in words", () => {
    expect(text).toContain("  carol: the introducer refused: carol is not registered; retrying in 4 s");
    expect(text).toContain(`  dave: ${IDLE_REASON}`);
    expect(text).not.toMatch(/ {2}bob: /);
  });

  it("listeners: listening or why not, and active connections", () => {
    expect(text).toMatch(/127\.0\.0\.1:2200\s+forward\s+bob\s+127\.0\.0\.1:22\s+yes\s+2/);
    expect(text).toMatch(/127\.0\.0\.1:1080\s+socks\s+bob\s+\(client's choice\)\s+no: EADDRINUSE\s+0/);
  });
});

describe("completePeerStatus", () => {
  it("takes bytes, last receive and handshake age from the session", () => {
    const s = completePeerStatus(
      peer({ bytesIn: 10, bytesOut: 20, lastPacketAgoMs: 5000 }),
      {
        endpoint: undefined,
        established: true,
        handshakeAt: 1000,
        handshakeInProgress: false,
        lastReceivedAt: 9000,
        txBytes: 300,
        rxBytes: 400,
      },
      10_000,
    );
    expect(s).toMatchObject({ bytesIn: 400, bytesOut: 300, lastPacketAgoMs: 1000, handshakeAgoMs: 9000 });
  });

  it("an idle peer gets a reason; without a session nothing else changes", () => {
    const s = completePeerStatus(peer({ state: "idle", path: null }), undefined, 0);
    expect(s).toMatchObject({ reason: IDLE_REASON, handshakeAgoMs: null, bytesIn: 0 });
  });
});
