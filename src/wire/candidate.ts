import type { Endpoint } from "../util/addr.js";
import type { Reader, Writer } from "./reader.js";

/**
 * Where a peer may be reached, in ICE's terms: `srflx` is the public endpoint the introducer
 * observed (server-reflexive), `host` a LAN address of the peer itself, `prflx` an endpoint first
 * seen as the source of an authenticated probe (peer-reflexive), `tcp` the TCP endpoint the
 * introducer observed (for TCP simultaneous open).
 */
export const CANDIDATE_KINDS = ["srflx", "host", "prflx", "tcp"] as const;
export type CandidateKind = (typeof CANDIDATE_KINDS)[number];

export interface Candidate {
  kind: CandidateKind;
  endpoint: Endpoint;
}

export function writeCandidate(w: Writer, c: Candidate): void {
  w.u8(CANDIDATE_KINDS.indexOf(c.kind)).endpoint(c.endpoint);
}

export function readCandidate(r: Reader): Candidate | null {
  const k = r.u8();
  const endpoint = r.endpoint();
  if (r.bad || k >= CANDIDATE_KINDS.length) return null;
  return { kind: CANDIDATE_KINDS[k], endpoint };
}
