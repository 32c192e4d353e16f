/**
 * What one punch attempt learned about the two NATs, in words a person understands.
 *
 * Mapping behaviour (RFC 4787 §4.1) shows when the same socket is seen from two destinations:
 * the introducer reports our public endpoint (srflx), and a peer's PONG reports the source it saw
 * for our PING. The same port means endpoint-independent mapping; a different port means our NAT
 * picks a port per destination (a "symmetric NAT") or re-mapped us. Likewise a peer PING arriving
 * from a port other than the peer's srflx says the peer's NAT maps per destination.
 */
import { type Endpoint, formatEndpoint, normalizeIp } from "../util/addr.js";

export type MappingGuess = "endpoint-independent" | "endpoint-dependent" | "unknown";

export interface NatObservations {
  /** Our public endpoint as the introducer saw it, if the daemon passed it. */
  ourSrflx?: Endpoint;
  /** Our NAT's mapping as learned before (an earlier path, netcheck); used when this attempt saw nothing. */
  knownOurs?: MappingGuess;
  /** The peer's public endpoints as the introducer saw them. */
  peerSrflx: Endpoint[];
  /** Source endpoints of ours that the peer reported in PONGs on non-LAN paths. */
  observedSelf: Endpoint[];
  /** Source endpoints authenticated PINGs came from (non-LAN). */
  pingSources: Endpoint[];
  pingsSent: number;
  pingsReceived: number;
  pongsReceived: number;
  candidatesTried: number;
}

export interface NatHint {
  ours: MappingGuess;
  peer: MappingGuess;
  /** One or more sentences; the first says the most important thing. */
  summary: string;
}

export function describeNat(o: NatObservations): NatHint {
  const lines: string[] = [];
  const ours = guessOurs(o, lines);
  const peer = guessPeer(o, lines);
  if (o.pongsReceived === 0 && o.pingsReceived === 0) {
    lines.unshift(
      `No packet from the peer arrived on any of ${o.candidatesTried} candidate address(es) and none of our ` +
        `${o.pingsSent} pings was answered. Usually one NAT gives each destination its own port (a symmetric ` +
        "NAT) while the other drops packets it did not ask for, or a firewall blocks UDP; a TCP or relayed " +
        "path may still work.",
    );
  } else if (o.pongsReceived === 0) {
    lines.unshift(
      `The peer's pings reached us (${o.pingsReceived}) and were answered, but none of our ${o.pingsSent} ` +
        "pings came back: packets flow towards us only, so the peer's NAT or firewall filters what we send.",
    );
  }
  return { ours, peer, summary: lines.join(" ") || "Nothing unusual was seen about either NAT." };
}

function guessOurs(o: NatObservations, lines: string[]): MappingGuess {
  const srflx = o.ourSrflx;
  const sameHost = srflx ? o.observedSelf.filter((e) => normalizeIp(e.host) === normalizeIp(srflx.host)) : [];
  if (!srflx || sameHost.length === 0) {
    if (o.knownOurs === "endpoint-dependent")
      lines.push(
        "Our NAT is known (from an earlier path) to map each destination to its own port (a symmetric " +
          "NAT), so the peer's NAT must accept packets from ports it has not sent to.",
      );
    return o.knownOurs ?? "unknown";
  }
  const moved = sameHost.find((e) => e.port !== srflx.port);
  if (!moved) return "endpoint-independent";
  lines.push(
    `Our NAT used port ${moved.port} towards the peer but port ${srflx.port} towards the introducer: it maps ` +
      "each destination to its own port (endpoint-dependent mapping, a symmetric NAT), or it re-mapped us " +
      "because a packet from the peer arrived before ours left.",
  );
  return "endpoint-dependent";
}

function guessPeer(o: NatObservations, lines: string[]): MappingGuess {
  let sawSrflx = false;
  for (const src of o.pingSources) {
    const twin = o.peerSrflx.find((s) => normalizeIp(s.host) === normalizeIp(src.host));
    if (!twin) continue;
    if (twin.port === src.port) {
      sawSrflx = true;
      continue;
    }
    lines.push(
      `The peer's pings came from ${formatEndpoint(src)} although the introducer saw it at ` +
        `${formatEndpoint(twin)}: the peer's NAT maps each destination to its own port (a symmetric NAT), ` +
        "or it re-mapped the peer.",
    );
    return "endpoint-dependent";
  }
  return sawSrflx ? "endpoint-independent" : "unknown";
}
