import { type LookupOneOptions, lookup } from "node:dns";
import { isIP } from "node:net";

/**
 * dgram resolves every destination, even an IP literal, through dns.lookup, which answers a
 * literal on the next tick: each datagram would leave only after the code that sent it has run to
 * the end of its turn (a flush of the reliable channel, timer re-arms). Answering literals at once
 * puts the datagram on the wire inside send(); names still go to dns.lookup.
 */
export function literalLookup(
  host: string,
  options: LookupOneOptions,
  done: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(host);
  if (family !== 0) done(null, host, family);
  else lookup(host, options, done);
}
