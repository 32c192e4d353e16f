/** Human rendering of `p2ptun status`, in the spirit of `tailscale status`. */
import type { DaemonStatus } from "../daemon/status-types.js";

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function ago(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms ago`;
  if (ms < 120_000) return `${Math.round(ms / 1000)}s ago`;
  return `${Math.round(ms / 60_000)}m ago`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

export function renderStatus(s: DaemonStatus): string {
  const out: string[] = [];
  out.push(`${s.name}  ${s.publicKey}  bind ${s.bind}  up ${duration(s.uptimeMs)}`);
  if (s.metrics) out.push(`metrics http://${s.metrics}/metrics`);
  out.push("");
  out.push(
    table([
      ["INTRODUCER", "REGISTERED", "PUBLIC UDP", "PUBLIC TCP", "RTT", "LAST CONTACT"],
      ...s.introducers.map((i) => [
        i.address,
        i.registered ? "yes" : "no",
        i.publicEndpoint ?? "-",
        i.tcpPublicEndpoint ?? "-",
        i.rttMs === null ? "-" : `${i.rttMs.toFixed(1)}ms`,
        ago(i.lastContactAgoMs),
      ]),
    ]),
  );
  for (const i of s.introducers)
    if (i.refused) out.push(`  ${i.address}: refused our registration: ${i.refused}`);
  out.push("");
  out.push(
    table([
      ["PEER", "STATE", "PATH", "ENDPOINT", "RTT", "IN", "OUT", "STREAMS", "LAST PACKET", "HANDSHAKE"],
      ...s.peers.map((p) => [
        p.name,
        p.state,
        p.path ?? "-",
        p.endpoint ?? "-",
        p.rttMs === null ? "-" : `${p.rttMs.toFixed(2)}ms`,
        bytes(p.bytesIn),
        bytes(p.bytesOut),
        String(p.streams),
        ago(p.lastPacketAgoMs),
        ago(p.handshakeAgoMs ?? null),
      ]),
    ]),
  );
  // Not connected: why. Connected over TCP: why not UDP (the reason says so).
  for (const p of s.peers)
    if (p.reason && (p.state !== "connected" || p.path === "tcp")) out.push(`  ${p.name}: ${p.reason}`);
  if (s.listeners.length) {
    out.push("");
    out.push(
      table([
        ["LISTENER", "KIND", "PEER", "TARGET", "LISTENING", "ACTIVE"],
        ...s.listeners.map((l) => [
          l.listen,
          l.kind,
          l.peer,
          l.connect ?? "(client's choice)",
          l.listening ? "yes" : `no${l.error ? `: ${l.error}` : ""}`,
          String(l.active),
        ]),
      ]),
    );
  }
  return `${out.join("\n")}\n`;
}
