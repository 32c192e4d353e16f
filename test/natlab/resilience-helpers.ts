/**
 * Helpers shared by the resilience tests (issue 6, "Surviving"): extra nft counters on a NAT box,
 * log inspection, and the usual "introducer + target + two daemons, connected" start.
 */
import type { ChildProcess } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { encodeKey, generateKeyPair, writePrivateKeyFile } from "../../src/crypto/keys.js";
import type { DaemonStatus } from "../../src/daemon/status-types.js";
import { CLI, stopProcess } from "../../src/demo/processes.js";
import type { Lab, LabHost, Side } from "./lab.js";
import { connected, INTRODUCER_PORT, type P2pWorld, registered } from "./p2p-world.js";

/** UDP the NAT box forwards, split by direction and by whether it is introducer traffic. */
export const TRAFFIC_COUNTERS = [
  "lanToIntroducer",
  "lanToPeer",
  "lanToPeerDisco",
  "lanToPeerSession",
  "wanToLan",
] as const;
export type TrafficCounter = (typeof TRAFFIC_COUNTERS)[number];

/**
 * Adds counters to a NAT box's forward path (a separate table, so the lab's own ruleset is not
 * touched). Counting happens after conntrack's de-NAT for inbound packets, before SNAT outbound.
 */
export async function installTrafficCounters(lab: Lab, side: Side): Promise<void> {
  const script = `table ip resilience {
${TRAFFIC_COUNTERS.map((c) => `  counter ${c} {}`).join("\n")}
  chain forward {
    type filter hook forward priority -200; policy accept;
    iifname "lan" ip daddr 198.51.100.0/24 meta l4proto udp counter name "lanToIntroducer"
    iifname "lan" ip daddr != 198.51.100.0/24 meta l4proto udp counter name "lanToPeer"
    iifname "lan" ip daddr != 198.51.100.0/24 meta l4proto udp @th,64,8 0x10-0x11 counter name "lanToPeerDisco"
    iifname "lan" ip daddr != 198.51.100.0/24 meta l4proto udp @th,64,8 0x20-0x22 counter name "lanToPeerSession"
    iifname "wan" meta l4proto udp counter name "wanToLan"
  }
}
`;
  await lab.natBox(side).execChecked(["nft", "-f", "-"], { input: script });
}

export async function readTrafficCounters(lab: Lab, side: Side): Promise<Record<TrafficCounter, number>> {
  const res = await lab
    .natBox(side)
    .execChecked(["nft", "-j", "list", "counters", "table", "ip", "resilience"]);
  const items = (JSON.parse(res.stdout) as { nftables: { counter?: { name: string; packets: number } }[] })
    .nftables;
  const out = {} as Record<TrafficCounter, number>;
  for (const name of TRAFFIC_COUNTERS)
    out[name] = items.find((i) => i.counter?.name === name)?.counter?.packets ?? 0;
  return out;
}

/** A sysctl's value inside a namespace (or in the root namespace when host is undefined). */
export async function sysctlIn(host: LabHost, key: string): Promise<number> {
  const r = await host.execChecked(["sysctl", "-n", key]);
  return Number(r.stdout.trim());
}

export function rootSysctl(key: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, "utf8").trim());
  } catch {
    return undefined;
  }
}

/** Log lines (pino JSON) of a daemon whose msg matches `re`. */
export function logLines(w: P2pWorld, name: string, re: RegExp): { time: number; msg: string }[] {
  const out: { time: number; msg: string }[] = [];
  for (const line of w.log(name).split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const j = JSON.parse(line) as { time: number | string; msg: string };
      // pino's time is epoch ms or an ISO string, depending on the logger's options.
      if (re.test(j.msg))
        out.push({ time: typeof j.time === "string" ? Date.parse(j.time) : j.time, msg: j.msg });
    } catch {
      // a partly written last line
    }
  }
  return out;
}

/** Introducer, digest/echo target, joe and bob; resolves once both report the peer connected. */
export async function startConnected(
  w: P2pWorld,
  target: "digest" | "echo" = "digest",
): Promise<{ joe: DaemonStatus; bob: DaemonStatus }> {
  w.startIntroducer();
  w.startTarget(target);
  w.startBob();
  await w.waitBob(registered);
  w.startJoe();
  const joe = await w.waitJoe(connected, 30_000);
  const bob = await w.waitBob(connected, 30_000);
  return { joe, bob };
}

/** Polls a daemon's status every `everyMs` until stopped; remembers every state and endpoint seen. */
export function watchPeer(
  get: () => Promise<DaemonStatus | null>,
  everyMs = 500,
): { stop(): Promise<{ states: Set<string>; endpoints: Set<string>; samples: number }> } {
  const states = new Set<string>();
  const endpoints = new Set<string>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const s = await get();
      const p = s?.peers[0];
      if (p) {
        samples++;
        states.add(p.state);
        if (p.endpoint) endpoints.add(p.endpoint);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { states, endpoints, samples };
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples a counter (e.g. bob's bytesIn) every `everyMs` until stopped. */
export function sampleProgress(
  read: () => Promise<number | null>,
  everyMs = 50,
): { stop(): Promise<{ t: number; v: number }[]> } {
  const samples: { t: number; v: number }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const v = await read();
      if (v !== null) samples.push({ t: performance.now(), v });
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** The longest period in [from, to] during which the sampled value did not grow. */
export function longestStall(
  samples: { t: number; v: number }[],
  from: number,
  to = Number.POSITIVE_INFINITY,
): { start: number; end: number; ms: number } {
  let best = { start: from, end: from, ms: 0 };
  let lastGrowth: { t: number; v: number } | undefined;
  for (const s of samples) {
    if (s.t < from) {
      lastGrowth = s;
      continue;
    }
    if (s.t > to) break;
    if (!lastGrowth) lastGrowth = s;
    if (s.v > lastGrowth.v) {
      const start = Math.max(lastGrowth.t, from);
      if (s.t - start > best.ms) best = { start, end: s.t, ms: s.t - start };
      lastGrowth = s;
    }
  }
  return best;
}

/**
 * Gives a side's NAT a new public address, as an ISP handing out a new lease would: a second
 * address on the NAT's WAN (in the side's block, so its router reaches it), SNAT to it (ports
 * still preserved: the NAT stays endpoint-independent), and conntrack forgets every flow.
 * (A masquerade port range that excludes the host's port is no good for this: Linux then picks a
 * port per destination, which is a symmetric NAT.)
 */
export async function changeNatAddress(lab: Lab, side: Side, newIp: string): Promise<void> {
  const nat = lab.natBox(side);
  await nat.execChecked(["ip", "addr", "add", `${newIp}/28`, "dev", "wan"]);
  const script = `flush chain ip natlab postrouting\nadd rule ip natlab postrouting oifname "wan" snat to ${newIp}\n`;
  await nat.execChecked(["nft", "-f", "-"], { input: script });
  await lab.flushConntrack(side);
}

/** Retries a forward transfer until it comes back byte-exact; resolves with the time it took. */
export async function transferUntilOk(
  w: P2pWorld,
  bytes: number,
  expected: string,
  timeoutMs: number,
): Promise<{ ms: number; attempts: number; errors: string[] }> {
  const t0 = performance.now();
  const errors: string[] = [];
  for (let attempts = 1; ; attempts++) {
    const r = await w.sendThroughForward(bytes);
    if (r.reply === expected) return { ms: performance.now() - t0, attempts, errors };
    errors.push(r.error || r.reply || `exit ${r.code}`);
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`no byte-exact transfer within ${timeoutMs} ms: ${errors.join("; ")}`);
    await sleep(200);
  }
}

export const SECOND_INTRODUCER_IP = "198.51.100.3";

/**
 * A second introducer for a P2pWorld: another address on the introducer host's segment, its own
 * key and config, and both daemons' `introducers:` list extended with it (after the first one).
 * Call before starting the daemons. Returns how to start it; the lab kills it on destroy.
 */
export async function addSecondIntroducer(
  w: P2pWorld,
): Promise<{ start(): ChildProcess; stop(): Promise<void> }> {
  await w.lab.introducer.execChecked(["ip", "addr", "add", `${SECOND_INTRODUCER_IP}/24`, "dev", "core"]);
  const kp = generateKeyPair();
  writePrivateKeyFile(join(w.dir, "introducer2.key"), kp.privateKey);
  const address = `${SECOND_INTRODUCER_IP}:${INTRODUCER_PORT}`;
  const intro = parse(readFileSync(w.world.introducerConfig, "utf8")) as Record<string, unknown>;
  const config2 = join(w.dir, "introducer2.yaml");
  writeFileSync(config2, stringify({ ...intro, listen: address, privateKeyFile: "./introducer2.key" }));
  for (const file of [w.world.joeConfig, w.world.bobConfig]) {
    const cfg = parse(readFileSync(file, "utf8")) as { introducers: unknown[] };
    cfg.introducers = [...cfg.introducers, { address, publicKey: encodeKey(kp.publicKey) }];
    writeFileSync(file, stringify(cfg));
  }
  let proc: ChildProcess | undefined;
  return {
    start() {
      const out = openSync(join(w.dir, "introducer2.log"), "a");
      proc = w.lab.introducer.spawn(
        [process.execPath, process.env.P2PTUN_CLI ?? CLI, "introducer", "-c", config2],
        {
          stdio: ["ignore", out, out],
        },
      );
      return proc;
    },
    async stop() {
      if (proc) await stopProcess(proc);
      proc = undefined;
    },
  };
}
