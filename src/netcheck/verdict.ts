/**
 * What netcheck's observations mean, as a pure function (tested with tables in
 * test/unit/netcheck-verdict.test.ts): whether UDP and TCP get out, the public endpoints, whether
 * the NAT keeps the local port, whether its mapping depends on the destination, and what that
 * means for hole punching, in plain words.
 */
import { type Endpoint, formatEndpoint, normalizeIp } from "../util/addr.js";

export interface UdpProbeResult {
  /** Which of netcheck's local sockets sent it (0, 1, …). */
  socket: number;
  localPort: number;
  /** The introducer as configured (its `address`). */
  introducer: string;
  /** Where the probe went, host:port. */
  destination: string;
  /** True for the introducer's alternate port (listen port + 1). */
  alternate: boolean;
  observed: Endpoint | null;
  rttMs: number | null;
}

export interface TcpProbeResult {
  introducer: string;
  destination: string;
  localPort: number | null;
  observed: Endpoint | null;
  rttMs: number | null;
  /** Why nothing came back (connect error, timeout), or null. */
  error: string | null;
}

export interface Observations {
  udp: UdpProbeResult[];
  tcp: TcpProbeResult[];
  /** This machine's own addresses: an observed address among them means there is no NAT. */
  localAddresses: string[];
  /** Introducers whose address could not be resolved, with the reason. */
  unresolved?: { introducer: string; error: string }[];
}

export type Mapping = "endpoint-independent" | "endpoint-dependent" | "unknown";
export type Verdict = "ok" | "hard-nat" | "udp-blocked" | "unreachable";

export interface NetcheckReport {
  /** Some introducer answered, over UDP or TCP (exit code 0). */
  reachable: boolean;
  udp: boolean;
  tcp: boolean;
  /** Distinct public UDP endpoints seen by the introducers. */
  publicEndpoints: string[];
  tcpPublicEndpoints: string[];
  /** False when the introducers saw one of this machine's own addresses. */
  behindNat: boolean | null;
  /** Every UDP mapping kept the socket's local port. */
  portPreserved: boolean | null;
  /** Some socket was seen from different endpoints by different destinations. */
  mappingVariesByDestination: boolean | null;
  mapping: Mapping;
  verdict: Verdict;
  /** One sentence: what this means for p2ptun. */
  summary: string;
  /** Further plain-words remarks. */
  notes: string[];
}

/** The one-sentence summary: what this NAT means for hole punching. */
export const SUMMARIES = {
  "ok-no-nat":
    "This machine has a public address (no NAT): peers can reach it directly, and punching works with any peer whose network lets UDP out.",
  "ok-eim":
    "Your NAT keeps one public port for every destination (endpoint-independent mapping): UDP hole punching should work with most peers.",
  "ok-unknown":
    "UDP gets out, but whether your NAT keeps one public port for every destination could not be measured: punching should work unless your NAT is a symmetric one.",
  "hard-nat":
    "Your NAT gives each destination its own public port (a symmetric NAT): peers cannot know the port to punch to, so UDP punching works only with peers that have a public address or a NAT that accepts packets from unknown ports; with a peer behind a typical home router it fails. A port forward on your router, or another network, fixes it.",
  "udp-blocked":
    "UDP does not get out of this network, but TCP does: p2ptun will try TCP simultaneous open, which works through fewer NATs than UDP; a network that lets UDP out is better.",
  unreachable:
    "No introducer answered over UDP or TCP: check the introducer addresses and keys in the config (an introducer answers only peers it knows) and whether this network lets traffic out.",
} as const;

function summaryOf(verdict: Verdict, mapping: Mapping, behindNat: boolean | null): string {
  if (verdict !== "ok") return SUMMARIES[verdict];
  if (behindNat === false) return SUMMARIES["ok-no-nat"];
  return mapping === "endpoint-independent" ? SUMMARIES["ok-eim"] : SUMMARIES["ok-unknown"];
}

export function judge(obs: Observations): NetcheckReport {
  const udpSeen = obs.udp.filter((r) => r.observed !== null);
  const tcpSeen = obs.tcp.filter((r) => r.observed !== null);
  const udp = udpSeen.length > 0;
  const tcp = tcpSeen.length > 0;
  const reachable = udp || tcp;
  const distinct = (xs: Endpoint[]) => [...new Set(xs.map((e) => formatEndpoint(norm(e))))];
  const publicEndpoints = distinct(udpSeen.map((r) => r.observed!));
  const tcpPublicEndpoints = distinct(tcpSeen.map((r) => r.observed!));

  const local = new Set(obs.localAddresses.map(normalizeIp));
  const seenHosts = [...udpSeen, ...tcpSeen].map((r) => normalizeIp(r.observed!.host));
  const behindNat = seenHosts.length === 0 ? null : seenHosts.some((h) => !local.has(h));

  let portPreserved: boolean | null = null;
  if (behindNat === false) portPreserved = true;
  else if (udp) portPreserved = udpSeen.every((r) => r.observed!.port === r.localPort);

  // Per socket: did two destinations see it from different endpoints?
  let compared = false;
  let varies = false;
  const bySocket = new Map<number, UdpProbeResult[]>();
  for (const r of udpSeen) bySocket.set(r.socket, [...(bySocket.get(r.socket) ?? []), r]);
  for (const rs of bySocket.values()) {
    if (new Set(rs.map((r) => r.destination)).size < 2) continue;
    compared = true;
    if (distinct(rs.map((r) => r.observed!)).length > 1) varies = true;
  }
  const mappingVariesByDestination = compared ? varies : null;
  const mapping: Mapping = !compared ? "unknown" : varies ? "endpoint-dependent" : "endpoint-independent";

  const verdict: Verdict = !reachable
    ? "unreachable"
    : !udp
      ? "udp-blocked"
      : mapping === "endpoint-dependent"
        ? "hard-nat"
        : "ok";

  const notes: string[] = [];
  for (const u of obs.unresolved ?? []) notes.push(`Cannot resolve introducer ${u.introducer}: ${u.error}.`);
  if (udp && behindNat && portPreserved === false && mapping === "endpoint-independent")
    notes.push(
      "Your NAT changes the local port but keeps one mapping for every destination: that is fine for punching.",
    );
  if (udp && mapping === "unknown")
    notes.push(
      "Only one destination answered over UDP, so whether your NAT's mapping depends on the destination is unknown (the introducer's alternate port, its port + 1, did not answer).",
    );
  if (verdict === "hard-nat" && tcp)
    notes.push(
      "TCP gets out too, but such a NAT picks a new port for each TCP connection as well, so the TCP fallback is likely to fail the same way.",
    );
  if (udp && !tcp)
    notes.push("TCP to the introducer did not get through: there is no TCP fallback if UDP punching fails.");
  if (!udp && tcp)
    notes.push(
      "Peers behind NATs that reset unsolicited TCP connections (many home routers) may still be unreachable over TCP.",
    );
  if (verdict === "unreachable" && obs.tcp.some((t) => t.error))
    notes.push(`TCP: ${[...new Set(obs.tcp.map((t) => t.error).filter(Boolean))].join("; ")}.`);

  return {
    reachable,
    udp,
    tcp,
    publicEndpoints,
    tcpPublicEndpoints,
    behindNat,
    portPreserved,
    mappingVariesByDestination,
    mapping,
    verdict,
    summary: summaryOf(verdict, mapping, behindNat),
    notes,
  };
}

function norm(e: Endpoint): Endpoint {
  return { host: normalizeIp(e.host), port: e.port };
}

const yesNo = (v: boolean | null, yes: string, no: string) => (v === null ? "unknown" : v ? yes : no);

/** The human-readable report (tailscale netcheck's style). */
export function renderReport(report: NetcheckReport, obs: Observations): string {
  const lines = ["Report:"];
  lines.push(`  * UDP: ${report.udp}`);
  lines.push(`  * TCP: ${report.tcp}`);
  if (report.publicEndpoints.length)
    lines.push(`  * Public endpoint (UDP): ${report.publicEndpoints.join(", ")}`);
  if (report.tcpPublicEndpoints.length)
    lines.push(`  * Public endpoint (TCP): ${report.tcpPublicEndpoints.join(", ")}`);
  lines.push(`  * Behind NAT: ${yesNo(report.behindNat, "yes", "no")}`);
  if (report.udp) {
    lines.push(`  * NAT keeps the local port: ${yesNo(report.portPreserved, "yes", "no")}`);
    lines.push(
      `  * Mapping varies by destination: ${yesNo(report.mappingVariesByDestination, "yes", "no")} (${report.mapping})`,
    );
  }
  lines.push("  * Probes:");
  for (const r of obs.udp)
    lines.push(
      `      udp socket ${r.socket} :${r.localPort} → ${r.destination}${r.alternate ? " (alternate)" : ""}: ${
        r.observed ? `${formatEndpoint(r.observed)} in ${r.rttMs} ms` : "no answer"
      }`,
    );
  for (const t of obs.tcp)
    lines.push(
      `      tcp ${t.localPort === null ? "" : `:${t.localPort} `}→ ${t.destination}: ${
        t.observed ? `${formatEndpoint(t.observed)} in ${t.rttMs} ms` : (t.error ?? "no answer")
      }`,
    );
  lines.push("", report.summary);
  for (const n of report.notes) lines.push(n);
  return `${lines.join("\n")}\n`;
}
