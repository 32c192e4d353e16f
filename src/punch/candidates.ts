/**
 * LAN (host) candidates: the addresses of this machine's interfaces with the daemon's UDP port.
 * A peer behind the same NAT reaches us on one of these without hairpinning through the NAT.
 */
import { type NetworkInterfaceInfo, networkInterfaces } from "node:os";
import type { Candidate } from "../wire/candidate.js";

export interface GatherOptions {
  /** Include loopback addresses (127.0.0.1, ::1): only useful when both peers run on one machine. */
  includeLoopback?: boolean;
  /** Include IPv6 addresses (link-local ones never: they need a scope id the wire does not carry). */
  includeIPv6?: boolean;
  /** Interfaces to use instead of os.networkInterfaces(); for tests. */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

export function gatherHostCandidates(port: number, opts: GatherOptions = {}): Candidate[] {
  const ifaces = opts.interfaces ?? networkInterfaces();
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (const infos of Object.values(ifaces)) {
    for (const info of infos ?? []) {
      if (info.internal && !opts.includeLoopback) continue;
      if (info.family === "IPv6") {
        if (!opts.includeIPv6 || info.address.toLowerCase().startsWith("fe80:")) continue;
      } else if (info.family !== "IPv4") continue;
      if (seen.has(info.address)) continue;
      seen.add(info.address);
      out.push({ kind: "host", endpoint: { host: info.address, port } });
    }
  }
  // IPv4 first: it is what NATed LANs share.
  return out.sort((a, b) => Number(a.endpoint.host.includes(":")) - Number(b.endpoint.host.includes(":")));
}
