/**
 * The two config file kinds, as zod schemas. Unknown keys are errors (strict objects): a typo
 * must never be silently ignored. Cross-field rules live in `superRefine` at the top level so
 * their messages can point at the offending entry.
 */
import { z } from "zod";
import { parseAllowEntry } from "../tunnel/acl-entry.js";
import { parseHostPort } from "../util/addr.js";
import { hostPort, logSection, peerName, publicKey } from "./fields.js";

export const DEFAULT_INTRODUCER_PORT = 2345;

const allowEntry = z
  .string()
  .describe("a target this peer may open through us: host:port, *:port, CIDR:port[-port], *.domain:port")
  .superRefine((v, ctx) => {
    const r = parseAllowEntry(v);
    if (!r.ok) ctx.addIssue({ code: "custom", message: r.error });
  });

const introducerRef = z.strictObject({
  address: hostPort("the introducer's public host:port (UDP and TCP)", {
    defaultPort: DEFAULT_INTRODUCER_PORT,
  }),
  publicKey: publicKey.describe("the introducer's public key, pinned: an introducer without it is refused"),
});

const peer = z.strictObject({
  name: peerName.describe("the peer's name at the introducer"),
  publicKey: publicKey.describe("the peer's public key, pinned"),
  allow: z.array(allowEntry).default([]).describe("targets this peer may open through us; default: none"),
});

const forward = z.strictObject({
  listen: hostPort("local host:port to listen on, like ssh -L's first half (use 127.0.0.1 to stay local)"),
  peer: peerName.describe("the peer that dials the target"),
  connect: z
    .string()
    .describe("host:port dialled on the peer's side")
    .superRefine((v, ctx) => {
      const r = parseHostPort(v);
      if (!r.ok)
        ctx.addIssue({
          code: "custom",
          message: `expected host:port, got ${JSON.stringify(v)} (${r.error})`,
        });
    }),
});

const socks = z.strictObject({
  listen: hostPort("local host:port of the SOCKS5 endpoint, like ssh -D"),
  peer: peerName.describe("the peer that exits the connections"),
  username: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe("RFC 1929 username; with password, clients must authenticate"),
  password: z.string().min(1).max(255).optional().describe("RFC 1929 password"),
});

const punch = z
  .strictObject({
    primerTtl: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(2)
      .describe("TTL of the first packets towards the peer: enough to open our own NAT, not to reach theirs"),
    tcpFallback: z.boolean().default(true).describe("punch TCP when UDP does not get through"),
  })
  .default({ primerTtl: 2, tcpFallback: true });

const metrics = z
  .strictObject({
    listen: hostPort(
      "host:port of the Prometheus /metrics endpoint, e.g. 127.0.0.1:9464 (no authentication: keep it on localhost; other addresses are warned about)",
    ),
  })
  .optional()
  .describe("opt-in Prometheus metrics; off when absent");

export const daemonConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe("JSON Schema reference for editors"),
    name: peerName.describe("this peer's name at the introducer"),
    privateKeyFile: z
      .string()
      .min(1)
      .describe("path of this peer's private key (relative to this file), mode 0600"),
    introducers: z.array(introducerRef).min(1, { message: "expected at least one introducer" }),
    bind: hostPort("local address:port of the UDP socket used for punching (port 0 = any)", {
      allowZeroPort: true,
    }).default("0.0.0.0:0"),
    control: z
      .string()
      .min(1)
      .optional()
      .describe("control socket path for `p2ptun status` and `p2ptun ping`"),
    peers: z.array(peer).default([]),
    forwards: z.array(forward).default([]).describe("ssh -L style local port forwards"),
    socks: z.array(socks).default([]).describe("ssh -D style SOCKS5 endpoints"),
    punch,
    metrics,
    log: logSection.default({ level: "info" }),
  })
  .superRefine((cfg, ctx) => {
    const names = new Map<string, number>();
    const keys = new Map<string, number>();
    cfg.peers.forEach((p, i) => {
      if (names.has(p.name))
        ctx.addIssue({
          code: "custom",
          path: ["peers", i, "name"],
          message: `duplicate peer name "${p.name}" (also peers[${names.get(p.name)}])`,
        });
      else names.set(p.name, i);
      if (keys.has(p.publicKey))
        ctx.addIssue({
          code: "custom",
          path: ["peers", i, "publicKey"],
          message: `duplicate public key (also peers[${keys.get(p.publicKey)}])`,
        });
      else keys.set(p.publicKey, i);
      if (p.name === cfg.name)
        ctx.addIssue({
          code: "custom",
          path: ["peers", i, "name"],
          message: `a peer cannot have this daemon's own name "${cfg.name}"`,
        });
    });
    const listens = new Map<string, string>();
    const checkListen = (where: "forwards" | "socks", i: number, listen: string, peerRef: string) => {
      const here = `${where}[${i}]`;
      if (listens.has(listen))
        ctx.addIssue({
          code: "custom",
          path: [where, i, "listen"],
          message: `duplicate listen address ${listen} (also ${listens.get(listen)})`,
        });
      else listens.set(listen, here);
      if (!names.has(peerRef)) {
        const known = [...names.keys()];
        ctx.addIssue({
          code: "custom",
          path: [where, i, "peer"],
          message: `unknown peer "${peerRef}"; ${known.length ? `peers are: ${known.join(", ")}` : "no peers are configured"}`,
        });
      }
    };
    for (const [i, f] of cfg.forwards.entries()) checkListen("forwards", i, f.listen, f.peer);
    cfg.socks.forEach((s, i) => {
      checkListen("socks", i, s.listen, s.peer);
      if ((s.username === undefined) !== (s.password === undefined))
        ctx.addIssue({
          code: "custom",
          path: ["socks", i, s.username === undefined ? "username" : "password"],
          message: "username and password go together",
        });
    });
  });

export const introducerConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe("JSON Schema reference for editors"),
    listen: hostPort("host:port to listen on, UDP and TCP (default port 2345)", {
      defaultPort: DEFAULT_INTRODUCER_PORT,
    }).default(`0.0.0.0:${DEFAULT_INTRODUCER_PORT}`),
    privateKeyFile: z
      .string()
      .min(1)
      .describe("path of the introducer's private key (relative to this file), mode 0600"),
    peers: z
      .array(z.strictObject({ name: peerName, publicKey }))
      .default([])
      .describe("every peer allowed to register"),
    metrics,
    log: logSection.default({ level: "info" }),
  })
  .superRefine((cfg, ctx) => {
    const names = new Map<string, number>();
    const keys = new Map<string, number>();
    cfg.peers.forEach((p, i) => {
      if (names.has(p.name))
        ctx.addIssue({
          code: "custom",
          path: ["peers", i, "name"],
          message: `duplicate peer name "${p.name}" (also peers[${names.get(p.name)}])`,
        });
      else names.set(p.name, i);
      if (keys.has(p.publicKey))
        ctx.addIssue({
          code: "custom",
          path: ["peers", i, "publicKey"],
          message: `duplicate public key (also peers[${keys.get(p.publicKey)}])`,
        });
      else keys.set(p.publicKey, i);
    });
  });

export type DaemonConfigInput = z.input<typeof daemonConfigSchema>;
export type DaemonConfigData = z.output<typeof daemonConfigSchema>;
export type IntroducerConfigData = z.output<typeof introducerConfigSchema>;
