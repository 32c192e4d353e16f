/**
 * The NAT lab's address plan and the configuration of every namespace, as plain data.
 * No I/O here: `lab-core.ts` feeds these strings to `ip -batch`, `sysctl` and `nft -f`.
 *
 *   hostA ── natA ── routerA ──┐                 ┌── routerB ── natB ── hostB
 *   10.0.1.2  .2 (WAN)  .1     core ── introducer   .65      .66 (WAN)   10.0.2.2
 *           203.0.113.0/28  192.0.2.0/30   198.51.100.2   192.0.2.4/30  203.0.113.64/28
 *
 * Side A owns 203.0.113.0/26 and side B 203.0.113.64/26; the core routes each block to its router,
 * so private 10.x addresses never cross the core (as on the internet).
 * A `public` side keeps the same boxes, but its NAT box only routes and the host sits on
 * 203.0.113.16/28 (A) or 203.0.113.80/28 (B), so hop counts are the same for every kind.
 */

export type NatKind =
  | "public"
  | "eim"
  | "eim-drop"
  | "eim-reject"
  | "symmetric"
  | "udp-blocked"
  /** `eim-drop` with UDP from the LAN dropped: a router firewall on a network that blocks UDP. */
  | "udp-blocked-drop"
  /** `eim-drop` with UDP from the LAN dropped except to the introducer: UDP punching fails. */
  | "udp-peer-blocked";
export type Side = "a" | "b";

export interface SideOpts {
  nat: NatKind;
  /** net.netfilter.nf_conntrack_udp_timeout in the NAT box (kernel default 30 s). */
  udpTimeoutSec?: number;
  /** net.netfilter.nf_conntrack_udp_timeout_stream (kernel default 120 s); defaults to udpTimeoutSec. */
  udpStreamTimeoutSec?: number;
  /** Random loss in the NAT box's forward path, both directions, 0..100. */
  lossPercent?: number;
}

export const INTRODUCER_IP = "198.51.100.2";

/** "203.0.113.2:40000" → 40000 */
export function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
}

export function ipOf(endpoint: string): string {
  return endpoint.slice(0, endpoint.lastIndexOf(":"));
}

/** Roles double as namespace-name suffixes, so keep them short. */
export type Role = "i" | "c" | "ra" | "rb" | "na" | "nb" | "ha" | "hb";

export interface SideAddrs {
  /** Address of the core on the core–router link, and of the router on it. */
  coreLink: { core: string; router: string };
  /** Everything routed to this side by the core. */
  block: string;
  routerWan: string;
  natWan: string;
  /** The LAN behind the NAT box; hosts[0] is host A/B, hosts[1] is host B when sameNat. */
  lan: { net: string; gw: string; prefix: number; hosts: [string, string] };
}

export function sideAddrs(side: Side, kind: NatKind): SideAddrs {
  const base = side === "a" ? 0 : 64;
  const pub = (n: number) => `203.0.113.${base + n}`;
  const priv = (n: number) => `10.0.${side === "a" ? 1 : 2}.${n}`;
  return {
    coreLink:
      side === "a" ? { core: "192.0.2.1", router: "192.0.2.2" } : { core: "192.0.2.5", router: "192.0.2.6" },
    block: `${pub(0)}/26`,
    routerWan: pub(1),
    natWan: pub(2),
    lan:
      kind === "public"
        ? { net: pub(16), gw: pub(17), prefix: 28, hosts: [pub(18), pub(19)] }
        : { net: priv(0), gw: priv(1), prefix: 24, hosts: [priv(2), priv(3)] },
  };
}

/** One veth pair, each end created directly inside its namespace. */
export interface Veth {
  a: { role: Role; ifname: string };
  b: { role: Role; ifname: string };
}

export interface NsConfig {
  role: Role;
  /** Lines for `ip -batch -` run inside the namespace. */
  ipBatch: string[];
  sysctls: Record<string, number>;
  /** Ruleset for `nft -f -`, or undefined when the namespace needs none. */
  nft?: string;
}

export interface LabPlan {
  veths: Veth[];
  namespaces: NsConfig[];
  hostIps: { a: string; b: string };
  natPublicIps: { a: string; b: string };
  /** The NAT boxes' own WAN addresses (for sameNat both are natA's). */
  natWanIps: { a: string; b: string };
}

const ROUTER_SYSCTLS = { "net.ipv4.ip_forward": 1 };
// IPv6 off everywhere: router solicitations and DAD would only add noise to the counters.
const QUIET_SYSCTLS = { "net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1 };

export function planLab(a: SideOpts, b: SideOpts | undefined, sameNat: boolean): LabPlan {
  const veths: Veth[] = [
    { a: { role: "i", ifname: "core" }, b: { role: "c", ifname: "intro" } },
    { a: { role: "c", ifname: "ra" }, b: { role: "ra", ifname: "core" } },
    { a: { role: "ra", ifname: "nat" }, b: { role: "na", ifname: "wan" } },
    { a: { role: "na", ifname: "ha" }, b: { role: "ha", ifname: "nat" } },
  ];
  const A = sideAddrs("a", a.nat);
  const coreBatch = ["addr add 198.51.100.1/24 dev intro", ...coreSideBatch(A, "ra")];
  const namespaces: NsConfig[] = [
    {
      role: "i",
      ipBatch: [
        "link set lo up",
        `addr add ${INTRODUCER_IP}/24 dev core`,
        "link set core up",
        "route add default via 198.51.100.1",
      ],
      sysctls: { ...QUIET_SYSCTLS },
      nft: introducerRuleset(),
    },
    { role: "ra", ipBatch: routerBatch(A), sysctls: { ...QUIET_SYSCTLS, ...ROUTER_SYSCTLS } },
    natConfig("na", A, a, sameNat ? ["ha", "hb"] : ["ha"]),
    hostConfig("ha", A.lan.hosts[0], A),
  ];
  let hostB: string;
  let natB: string;
  let wanB: string;
  if (sameNat) {
    veths.push({ a: { role: "na", ifname: "hb" }, b: { role: "hb", ifname: "nat" } });
    namespaces.push(hostConfig("hb", A.lan.hosts[1], A));
    hostB = A.lan.hosts[1];
    natB = A.natWan;
    wanB = A.natWan;
  } else {
    if (!b) throw new Error("Lab: side b options are required unless sameNat is set");
    const B = sideAddrs("b", b.nat);
    veths.push(
      { a: { role: "c", ifname: "rb" }, b: { role: "rb", ifname: "core" } },
      { a: { role: "rb", ifname: "nat" }, b: { role: "nb", ifname: "wan" } },
      { a: { role: "nb", ifname: "hb" }, b: { role: "hb", ifname: "nat" } },
    );
    coreBatch.push(...coreSideBatch(B, "rb"));
    namespaces.push(
      { role: "rb", ipBatch: routerBatch(B), sysctls: { ...QUIET_SYSCTLS, ...ROUTER_SYSCTLS } },
      natConfig("nb", B, b, ["hb"]),
      hostConfig("hb", B.lan.hosts[0], B),
    );
    hostB = B.lan.hosts[0];
    natB = b.nat === "public" ? hostB : B.natWan;
    wanB = B.natWan;
  }
  const ifnames = veths.flatMap((v) => [v.a, v.b]).filter((e) => e.role === "c");
  namespaces.push({
    role: "c",
    ipBatch: ["link set lo up", ...ifnames.map((e) => `link set ${e.ifname} up`), ...coreBatch],
    sysctls: { ...QUIET_SYSCTLS, ...ROUTER_SYSCTLS },
    nft: coreRuleset(),
  });
  return {
    veths,
    namespaces,
    hostIps: { a: A.lan.hosts[0], b: hostB },
    natPublicIps: { a: a.nat === "public" ? A.lan.hosts[0] : A.natWan, b: natB },
    natWanIps: { a: A.natWan, b: wanB },
  };
}

function coreSideBatch(s: SideAddrs, ifname: string): string[] {
  return [`addr add ${s.coreLink.core}/30 dev ${ifname}`, `route add ${s.block} via ${s.coreLink.router}`];
}

function routerBatch(s: SideAddrs): string[] {
  const batch = [
    "link set lo up",
    "link set core up",
    "link set nat up",
    `addr add ${s.coreLink.router}/30 dev core`,
    `addr add ${s.routerWan}/28 dev nat`,
    `route add default via ${s.coreLink.core}`,
  ];
  // Only a public LAN is routable from outside; a private LAN stays hidden behind the NAT.
  if (!s.lan.net.startsWith("10.")) batch.push(`route add ${s.lan.net}/${s.lan.prefix} via ${s.natWan}`);
  return batch;
}

function natConfig(role: Role, s: SideAddrs, opts: SideOpts, lanPorts: string[]): NsConfig {
  const sysctls: Record<string, number> = { ...QUIET_SYSCTLS, ...ROUTER_SYSCTLS };
  if (opts.udpTimeoutSec !== undefined)
    sysctls["net.netfilter.nf_conntrack_udp_timeout"] = opts.udpTimeoutSec;
  const stream = opts.udpStreamTimeoutSec ?? opts.udpTimeoutSec;
  if (stream !== undefined) sysctls["net.netfilter.nf_conntrack_udp_timeout_stream"] = stream;
  return {
    role,
    ipBatch: [
      "link set lo up",
      "link add lan type bridge",
      ...lanPorts.flatMap((p) => [`link set ${p} master lan`, `link set ${p} up`]),
      "link set lan up",
      "link set wan up",
      `addr add ${s.natWan}/28 dev wan`,
      `addr add ${s.lan.gw}/${s.lan.prefix} dev lan`,
      `route add default via ${s.routerWan}`,
    ],
    sysctls,
    nft: natRuleset(opts.nat, opts.lossPercent ?? 0),
  };
}

function hostConfig(role: Role, ip: string, s: SideAddrs): NsConfig {
  return {
    role,
    ipBatch: [
      "link set lo up",
      "link set nat up",
      `addr add ${ip}/${s.lan.prefix} dev nat`,
      `route add default via ${s.lan.gw}`,
    ],
    sysctls: { ...QUIET_SYSCTLS },
  };
}

/** The rule `setLoss` puts into the NAT's `loss` chain; empty for 0 %. */
export function lossRule(percent: number): string {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100)
    throw new Error(`bad loss percent ${percent}`);
  if (percent === 0) return "";
  // numgen's range is 0..99, so "< 100" is rejected by nft; 100 % is an unconditional drop.
  const match = percent === 100 ? "" : `numgen random mod 100 < ${percent} `;
  return `${match}counter name "lossDropped" drop`;
}

export const NAT_COUNTERS = [
  "unsolicitedDropped",
  "unsolicitedRejected",
  "udpBlocked",
  "lossDropped",
] as const;

/**
 * The NAT box. Mapping: `masquerade` keeps the source port when it can (endpoint-independent in
 * practice); `fully-random` picks a new port for every new flow (endpoint-dependent, "symmetric").
 * Filtering: Linux forwards inbound only for an existing conntrack entry; anything else is addressed
 * to the NAT box itself. `eim` lets its input accept that (the kernel answers with ICMP port
 * unreachable, and the conntrack entry it leaves behind causes the remap race); `eim-drop` and
 * `eim-reject` stop it before conntrack confirms an entry, so no remap happens.
 */
export function natRuleset(kind: NatKind, lossPercent: number): string {
  const post =
    kind === "public" ? "" : `oifname "wan" masquerade${kind === "symmetric" ? " fully-random" : ""}`;
  const unsolicited =
    kind === "eim-drop" || kind === "udp-blocked-drop" || kind === "udp-peer-blocked"
      ? ['iifname "wan" ct state new counter name "unsolicitedDropped" drop']
      : kind === "eim-reject"
        ? [
            'iifname "wan" ct state new meta l4proto tcp counter name "unsolicitedRejected" reject with tcp reset',
            'iifname "wan" ct state new counter name "unsolicitedRejected" reject',
          ]
        : [];
  const forward = [...unsolicited];
  if (kind === "udp-blocked" || kind === "udp-blocked-drop")
    forward.push('iifname "lan" meta l4proto udp counter name "udpBlocked" drop');
  if (kind === "udp-peer-blocked")
    forward.push(
      `iifname "lan" meta l4proto udp ip daddr != ${INTRODUCER_IP} counter name "udpBlocked" drop`,
    );
  return `table ip natlab {
${NAT_COUNTERS.map((c) => `  counter ${c} {}`).join("\n")}
  chain loss {
    type filter hook forward priority -150; policy accept;
    ${lossRule(lossPercent)}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ${post}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ${unsolicited.join("\n    ")}
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ${forward.join("\n    ")}
  }
}
`;
}

/** Counters at the introducer host, by protocol and by p2ptun packet type (first UDP payload byte). */
export const INTRODUCER_COUNTERS = [
  "udpAll",
  "udpIntroducer",
  "udpProbe",
  "udpSession",
  "tcpAll",
  "tcpSyn",
  "icmpAll",
] as const;

function introducerRuleset(): string {
  return `table ip natlab {
${INTRODUCER_COUNTERS.map((c) => `  counter ${c} {}`).join("\n")}
  chain count {
    type filter hook prerouting priority -300; policy accept;
    iifname != "core" accept
    meta l4proto icmp counter name "icmpAll"
    meta l4proto tcp counter name "tcpAll"
    tcp flags & (syn | ack) == syn counter name "tcpSyn"
    meta l4proto udp counter name "udpAll"
    meta l4proto udp @th,64,8 0x01-0x0f counter name "udpIntroducer"
    meta l4proto udp @th,64,8 0x10-0x11 counter name "udpProbe"
    meta l4proto udp @th,64,8 0x20-0x22 counter name "udpSession"
  }
}
`;
}

/** Packets the core forwards between the two sides' address blocks (never via the introducer). */
export const CORE_COUNTERS = ["aToBUdp", "aToBTcp", "bToAUdp", "bToATcp"] as const;

function coreRuleset(): string {
  const a = "203.0.113.0/26";
  const b = "203.0.113.64/26";
  return `table ip natlab {
${CORE_COUNTERS.map((c) => `  counter ${c} {}`).join("\n")}
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr ${a} ip daddr ${b} meta l4proto udp counter name "aToBUdp"
    ip saddr ${a} ip daddr ${b} meta l4proto tcp counter name "aToBTcp"
    ip saddr ${b} ip daddr ${a} meta l4proto udp counter name "bToAUdp"
    ip saddr ${b} ip daddr ${a} meta l4proto tcp counter name "bToATcp"
  }
}
`;
}
