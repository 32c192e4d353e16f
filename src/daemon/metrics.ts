/**
 * Opt-in Prometheus metrics (`metrics: { listen: 127.0.0.1:9464 }`) for the daemon and the
 * introducer, served at GET /metrics on their own small HTTP server.
 *
 * Nothing on the hot path increments a metric: every value is read at scrape time (prom-client
 * `collect` callbacks) from the counters the cores already keep — SessionManager counters and
 * per-peer bytes, the reliable channel's and the mux's stats, Peer counters, the introducer
 * client's counters, the UDP endpoint's drops, the exit's stream counts, the listeners' status.
 *
 * Counters that live in a per-link object (channel, mux) restart when a link is replaced; the
 * `LinkTotals` below carries the old link's last value forward so `_total`s never go down.
 */
import { createServer, type Server } from "node:http";
import { Counter, collectDefaultMetrics, Gauge, Registry as PromRegistry, type Registry } from "prom-client";
import type { RunningIntroducer } from "../introducer/server.js";
import { type Endpoint, formatEndpoint, isLoopback, parseHostPort } from "../util/addr.js";
import type { Logger } from "../util/logger.js";
import type { DaemonMetricsSource, PeerSource } from "./metrics-source.js";
import type { PeerState } from "./status-types.js";

const PEER_STATES: readonly PeerState[] = ["idle", "connecting", "connected", "failed"];

/** Session counters that are drops of received packets (the rest are events). */
const SESSION_DROPS = [
  "malformed",
  "unknownKey",
  "unknownIndex",
  "decryptFail",
  "replay",
  "initReplay",
  "initFlood",
  "initRateLimited",
  "expired",
  "staleKey",
] as const;

type LinkCounter =
  | "retransmittedBytes"
  | "packetsLost"
  | "packetsMalformed"
  | "streamsOpened"
  | "streamsAccepted"
  | "streamsRefused"
  | "protocolErrors"
  | "dataBytesIn"
  | "dataBytesOut";

/** Per peer: the sum over its links so far of counters that restart with each link. */
class LinkTotals {
  private readonly peers = new Map<
    string,
    { link: object | null; last: Map<LinkCounter, number>; carry: Map<LinkCounter, number> }
  >();

  read(peer: PeerSource, key: LinkCounter): number {
    const name = peer.status.name;
    let t = this.peers.get(name);
    if (!t) {
      t = { link: peer.link?.key ?? null, last: new Map(), carry: new Map() };
      this.peers.set(name, t);
    }
    if (peer.link && peer.link.key !== t.link) {
      // A new link: what the old one counted (as of the last scrape) is kept.
      for (const [k, v] of t.last) t.carry.set(k, (t.carry.get(k) ?? 0) + v);
      t.last.clear();
      t.link = peer.link.key;
    }
    const now = peer.link ? linkValue(peer.link, key) : (t.last.get(key) ?? 0);
    t.last.set(key, now);
    return (t.carry.get(key) ?? 0) + now;
  }
}

function linkValue(link: NonNullable<PeerSource["link"]>, key: LinkCounter): number {
  switch (key) {
    case "retransmittedBytes":
    case "packetsLost":
    case "packetsMalformed":
      return link.channel[key];
    default:
      return link.mux[key];
  }
}

/** A counter whose values are set at scrape time. */
function readCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (set: (labels: Record<string, string>, value: number) => void) => void,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.inc(labels, Math.max(0, value)));
    },
  });
}

function readGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (set: (labels: Record<string, string>, value: number) => void) => void,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.set(labels, value));
    },
  });
}

/** The daemon's registry: process metrics plus everything in DaemonMetricsSource. */
export function daemonRegistry(source: () => DaemonMetricsSource): Registry {
  const r = new PromRegistry();
  collectDefaultMetrics({ register: r });
  const totals = new LinkTotals();
  // One snapshot per scrape, shared by every collector of that scrape.
  let cached: { at: number; s: DaemonMetricsSource } | undefined;
  const snap = (): DaemonMetricsSource => {
    const now = Date.now();
    if (!cached || now - cached.at > 50) cached = { at: now, s: source() };
    return cached.s;
  };

  readGauge(r, "p2ptun_info", "This daemon (value 1).", ["name"], (set) => set({ name: snap().name }, 1));

  // ── introducers ──
  readGauge(
    r,
    "p2ptun_introducer_registered",
    "1 when registered with this introducer.",
    ["introducer"],
    (set) => {
      for (const i of snap().introducers) set({ introducer: i.label }, i.registered ? 1 : 0);
    },
  );
  readGauge(r, "p2ptun_introducer_rtt_seconds", "Round trip to the introducer.", ["introducer"], (set) => {
    for (const i of snap().introducers) if (i.rttMs !== null) set({ introducer: i.label }, i.rttMs / 1000);
  });
  readCounter(
    r,
    "p2ptun_introducer_registrations_total",
    "Registrations with the introducer (the first, and each after a loss or a new public endpoint).",
    ["introducer"],
    (set) => {
      for (const i of snap().introducers) set({ introducer: i.label }, i.events.registered ?? 0);
    },
  );
  readCounter(
    r,
    "p2ptun_introductions_total",
    "Introductions received from the introducer.",
    ["introducer"],
    (set) => {
      for (const i of snap().introducers) set({ introducer: i.label }, i.events.introduction ?? 0);
    },
  );
  readCounter(
    r,
    "p2ptun_introducer_events_total",
    "Other introducer events: refused, declined, retimed, lost.",
    ["introducer", "event"],
    (set) => {
      for (const i of snap().introducers)
        for (const event of ["refused", "declined", "retimed", "lost"])
          set({ introducer: i.label, event }, i.events[event] ?? 0);
    },
  );

  // ── peers ──
  readGauge(r, "p2ptun_peer_state", "1 for the state each peer is in.", ["peer", "state"], (set) => {
    for (const p of snap().peers)
      for (const state of PEER_STATES) set({ peer: p.status.name, state }, p.status.state === state ? 1 : 0);
  });
  readGauge(
    r,
    "p2ptun_peer_connected",
    "1 when the peer is connected, labelled by path.",
    ["peer", "path"],
    (set) => {
      for (const p of snap().peers)
        set({ peer: p.status.name, path: p.status.path ?? "none" }, p.status.state === "connected" ? 1 : 0);
    },
  );
  readGauge(
    r,
    "p2ptun_peer_rtt_seconds",
    "Smoothed round trip to the peer over its path.",
    ["peer"],
    (set) => {
      for (const p of snap().peers)
        if (p.status.rttMs !== null) set({ peer: p.status.name }, p.status.rttMs / 1000);
    },
  );
  readGauge(
    r,
    "p2ptun_peer_last_packet_age_seconds",
    "Time since the last packet from the peer.",
    ["peer"],
    (set) => {
      for (const p of snap().peers)
        if (p.status.lastPacketAgoMs !== null) set({ peer: p.status.name }, p.status.lastPacketAgoMs / 1000);
    },
  );
  readCounter(
    r,
    "p2ptun_peer_bytes_total",
    "Encrypted session payload bytes exchanged with the peer (all paths).",
    ["peer", "direction"],
    (set) => {
      for (const p of snap().peers) {
        set({ peer: p.status.name, direction: "in" }, p.session?.rxBytes ?? p.status.bytesIn);
        set({ peer: p.status.name, direction: "out" }, p.session?.txBytes ?? p.status.bytesOut);
      }
    },
  );
  readCounter(
    r,
    "p2ptun_stream_bytes_total",
    "Application bytes carried in streams to and from the peer.",
    ["peer", "direction"],
    (set) => {
      for (const p of snap().peers) {
        set({ peer: p.status.name, direction: "in" }, totals.read(p, "dataBytesIn"));
        set({ peer: p.status.name, direction: "out" }, totals.read(p, "dataBytesOut"));
      }
    },
  );
  readGauge(r, "p2ptun_open_streams", "Streams open to the peer.", ["peer"], (set) => {
    for (const p of snap().peers) set({ peer: p.status.name }, p.status.streams);
  });
  readCounter(
    r,
    "p2ptun_streams_total",
    "Streams per peer: opened by us (out), accepted from the peer (in), refused.",
    ["peer", "kind"],
    (set) => {
      for (const p of snap().peers) {
        set({ peer: p.status.name, kind: "out" }, totals.read(p, "streamsOpened"));
        set({ peer: p.status.name, kind: "in" }, totals.read(p, "streamsAccepted"));
        set({ peer: p.status.name, kind: "refused" }, totals.read(p, "streamsRefused"));
      }
    },
  );
  readCounter(
    r,
    "p2ptun_retransmitted_bytes_total",
    "Bytes the reliable transport sent again (loss or timeout).",
    ["peer"],
    (set) => {
      for (const p of snap().peers) set({ peer: p.status.name }, totals.read(p, "retransmittedBytes"));
    },
  );
  readCounter(
    r,
    "p2ptun_packets_lost_total",
    "Packets the reliable transport declared lost.",
    ["peer"],
    (set) => {
      for (const p of snap().peers) set({ peer: p.status.name }, totals.read(p, "packetsLost"));
    },
  );
  readCounter(
    r,
    "p2ptun_links_total",
    "Links (reliable channel + mux) created per peer.",
    ["peer"],
    (set) => {
      for (const p of snap().peers) set({ peer: p.status.name }, p.counters.linksCreated);
    },
  );

  // ── punching ──
  readCounter(r, "p2ptun_punch_attempts_total", "Hole-punch attempts, by path.", ["path"], (set) => {
    const s = snap();
    set(
      { path: "udp" },
      sum(s.peers, (p) => p.counters.punchAttempts),
    );
    set({ path: "tcp" }, s.tcp?.punches ?? 0);
  });
  readCounter(
    r,
    "p2ptun_punch_outcomes_total",
    "Finished hole-punch attempts, by path and outcome.",
    ["path", "outcome"],
    (set) => {
      const s = snap();
      set(
        { path: "udp", outcome: "success" },
        sum(s.peers, (p) => p.counters.punchSuccesses ?? 0),
      );
      set(
        { path: "udp", outcome: "failure" },
        sum(s.peers, (p) => p.counters.punchFailures),
      );
      set({ path: "tcp", outcome: "success" }, s.tcp?.connected ?? 0);
      set({ path: "tcp", outcome: "failure" }, s.tcp?.failed ?? 0);
    },
  );
  readCounter(r, "p2ptun_handshake_failures_total", "Noise handshakes abandoned (no answer).", [], (set) =>
    set({}, snap().session.handshakeFailed ?? 0),
  );

  // ── drops ──
  readCounter(
    r,
    "p2ptun_dropped_packets_total",
    "Received packets dropped (malformed, unauthenticated, replayed, unknown sender...), by layer and reason.",
    ["layer", "reason"],
    (set) => {
      const s = snap();
      for (const reason of SESSION_DROPS) set({ layer: "session", reason }, s.session[reason] ?? 0);
      set({ layer: "udp", reason: "unknownType" }, s.udp.unknownType ?? 0);
      set({ layer: "udp", reason: "handlerError" }, s.udp.handlerErrors ?? 0);
      set({ layer: "disco", reason: "unknownPeer" }, s.daemon.discoUnknownPeer ?? 0);
      set({ layer: "introducer", reason: "unknownSource" }, s.daemon.introducerUnknownSource ?? 0);
      const drops = new Map<string, number>();
      for (const i of s.introducers)
        for (const [k, v] of Object.entries(i.drops))
          if (k !== "received") drops.set(k, (drops.get(k) ?? 0) + v);
      for (const [reason, v] of drops) set({ layer: "introducer", reason }, v);
      set(
        { layer: "transport", reason: "malformed" },
        sum(s.peers, (p) => totals.read(p, "packetsMalformed")),
      );
      set(
        { layer: "mux", reason: "protocolError" },
        sum(s.peers, (p) => totals.read(p, "protocolErrors")),
      );
    },
  );
  readCounter(
    r,
    "p2ptun_udp_packets_received_total",
    "Datagrams received on the daemon's UDP socket.",
    [],
    (set) => set({}, snap().udp.received ?? 0),
  );

  // ── exit and listeners ──
  readCounter(
    r,
    "p2ptun_exit_streams_total",
    "Streams peers opened through this machine, by result.",
    ["result"],
    (set) => {
      const e = snap().exit;
      set({ result: "accepted" }, e.accepted);
      set({ result: "refused" }, e.refused);
    },
  );
  readGauge(r, "p2ptun_exit_active_streams", "Streams peers have open through this machine.", [], (set) =>
    set({}, snap().exit.active),
  );
  readGauge(
    r,
    "p2ptun_listener_up",
    "1 when a forward or SOCKS listener is listening.",
    ["kind", "listen", "peer"],
    (set) => {
      for (const l of snap().listeners)
        set({ kind: l.kind, listen: l.listen, peer: l.peer }, l.listening ? 1 : 0);
    },
  );
  readGauge(
    r,
    "p2ptun_listener_active_connections",
    "Connections open on a forward or SOCKS listener.",
    ["kind", "listen", "peer"],
    (set) => {
      for (const l of snap().listeners) set({ kind: l.kind, listen: l.listen, peer: l.peer }, l.active);
    },
  );
  return r;
}

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  let n = 0;
  for (const x of xs) n += f(x);
  return n;
}

/** Introducer counters that are levels, not totals. */
const INTRODUCER_GAUGES = new Set(["pendingIntroductions", "trackedSources", "tcpConnections"]);

/** The introducer's registry: process metrics, registered peers, and its core's counters. */
export function introducerRegistry(running: Pick<RunningIntroducer, "counters" | "stats">): Registry {
  const r = new PromRegistry();
  collectDefaultMetrics({ register: r });
  readGauge(r, "p2ptun_introducer_registered_peers", "Peers registered right now.", [], (set) =>
    set({}, running.stats().registered.length),
  );
  readCounter(
    r,
    "p2ptun_introducer_server_events_total",
    "The introducer's counters: packets received and sent, registrations, introductions started, completed, merged, unreachable, rerouted, retimed, drops (rateLimited, malformed, unauthenticated, replayed), netcheck probes.",
    ["event"],
    (set) => {
      for (const [event, v] of Object.entries(running.counters()))
        if (!INTRODUCER_GAUGES.has(event)) set({ event }, v);
    },
  );
  readGauge(
    r,
    "p2ptun_introducer_server_level",
    "Introducer levels: pendingIntroductions, trackedSources, tcpConnections.",
    ["what"],
    (set) => {
      for (const [what, v] of Object.entries(running.counters()))
        if (INTRODUCER_GAUGES.has(what)) set({ what }, v);
    },
  );
  return r;
}

export interface MetricsServer {
  /** The address it listens on (the port is the real one when 0 was asked for). */
  address: Endpoint;
  close(): Promise<void>;
}

/**
 * Serves `registry` at GET /metrics on `listen` (host:port). Anything but loopback is logged as
 * a warning: the metrics name peers and listeners, and the endpoint has no authentication.
 */
export async function serveMetrics(
  listen: string,
  registry: Registry,
  logger: Logger,
): Promise<MetricsServer> {
  const parsed = parseHostPort(listen, { allowZeroPort: true });
  if (!parsed.ok) throw new Error(`metrics.listen: ${parsed.error}`); // the schema validated it
  const at = parsed.value;
  if (!isLoopback(at.host))
    logger.warn(
      { listen },
      `metrics: listening on ${listen}, which is not loopback; /metrics has no authentication and names peers and listeners — keep it behind a firewall`,
    );
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || (path !== "/metrics" && path !== "/")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (e: Error) => {
        logger.warn({ err: e.message }, "metrics: collecting failed");
        res.writeHead(500, { "content-type": "text/plain" }).end(`${e.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port, at.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const address = typeof addr === "object" && addr ? { host: at.host, port: addr.port } : at;
  logger.info({ listen: formatEndpoint(address) }, "metrics: serving /metrics");
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
