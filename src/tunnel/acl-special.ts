/**
 * Special-purpose addresses that a *name* rule must never reach on its own: the exit host itself
 * (loopback, "this host"), link-local (cloud metadata services live at 169.254.169.254),
 * multicast and broadcast. A DNS answer is controlled by whoever runs the zone, so `*.lan:80`
 * must not become a way to reach `127.0.0.1:80`; an address rule that lists such an address
 * explicitly still allows it (see Acl.allowsResolved).
 */
import { type Cidr, cidrContains, type IpAddr, parseCidr } from "./acl-ip.js";

const SPECIAL_BLOCKS: Cidr[] = [
  "0.0.0.0/8", // "this network"; connecting to 0.0.0.0 reaches the local host
  "127.0.0.0/8", // loopback
  "169.254.0.0/16", // link-local, cloud metadata
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved, includes 255.255.255.255 broadcast
  "::/128", // unspecified, reaches the local host
  "::1/128", // loopback
  "fe80::/10", // link-local
  "ff00::/8", // multicast
].map((text) => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`bad built-in block ${text}: ${parsed.error}`);
  return parsed.value;
});

export function isSpecialPurposeAddress(ip: IpAddr): boolean {
  return SPECIAL_BLOCKS.some((block) => cidrContains(block, ip));
}
