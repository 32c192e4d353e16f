/**
 * The Lab itself: builds the namespaces of a plan, runs things in them and tears them down.
 * Free of vitest so scripts and benchmarks can use it too; tests import `./lab.js`.
 */
import { execFileSync } from "node:child_process";
import { execChecked, LabHost, ProcessTracker } from "./lab-exec.js";
import {
  CORE_COUNTERS,
  INTRODUCER_COUNTERS,
  INTRODUCER_IP,
  ipOf,
  type LabPlan,
  lossRule,
  NAT_COUNTERS,
  type NsConfig,
  planLab,
  portOf,
  type Role,
  type Side,
  type SideOpts,
} from "./lab-topology.js";

export { type ExecOptions, type ExecResult, LabCommandError, LabHost } from "./lab-exec.js";
export { INTRODUCER_IP, ipOf, type NatKind, portOf, type Side, type SideOpts } from "./lab-topology.js";

export interface LabOptions {
  a: SideOpts;
  /** Required unless sameNat. */
  b?: SideOpts;
  /** Both hosts on side A's LAN, behind natA (10.0.1.2 and 10.0.1.3). */
  sameNat?: boolean;
  /** Namespace-name prefix; default `p2p<pid>x<n>`, which the leftover sweep recognises. */
  prefix?: string;
}

export interface Counter {
  packets: number;
  bytes: number;
}
export type Counters<K extends string> = Record<K, Counter>;

/** Default namespace names look like `p2p4242x3ha`: creator pid 4242, lab 3, role ha. */
const DEFAULT_NAME = /^p2p(\d+)x\d+/;

let availability: { ok: boolean; why?: string } | undefined;

/** Root, ip, nft, conntrack and the right to create a namespace. Checked once per process. */
export function natlabAvailableSync(): { ok: boolean; why?: string } {
  availability ??= checkAvailability();
  return availability;
}

export async function natlabAvailable(): Promise<{ ok: boolean; why?: string }> {
  return natlabAvailableSync();
}

function checkAvailability(): { ok: boolean; why?: string } {
  if (process.platform !== "linux") return { ok: false, why: "network namespaces need Linux" };
  if (process.getuid?.() !== 0) return { ok: false, why: "natlab needs root (network namespaces, nftables)" };
  for (const [tool, arg] of [
    ["ip", "-V"],
    ["nft", "--version"],
    ["conntrack", "--version"],
  ]) {
    try {
      execFileSync(tool!, [arg!], { stdio: "ignore" });
    } catch {
      return { ok: false, why: `natlab needs the '${tool}' command` };
    }
  }
  const probe = `p2p${process.pid}xprobe`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
    execFileSync("ip", ["netns", "del", probe], { stdio: "pipe" });
  } catch (err) {
    return { ok: false, why: `cannot create a network namespace: ${String(err).split("\n")[0]}` };
  }
  return { ok: true };
}

const liveLabs = new Set<Lab>();
let labCounter = 0;
let exitHookInstalled = false;

export class Lab {
  readonly introducer: LabHost;
  readonly a: LabHost;
  readonly b: LabHost;
  /** The core router, where traffic between the sides' address blocks is counted. */
  readonly core: LabHost;
  private readonly tracker: ProcessTracker;
  private destroyed = false;

  private constructor(
    readonly prefix: string,
    private readonly plan: LabPlan,
    private readonly sameNat: boolean,
    tracker: ProcessTracker,
  ) {
    this.tracker = tracker;
    this.introducer = new LabHost(this.ns("i"), INTRODUCER_IP, tracker);
    this.core = new LabHost(this.ns("c"), "198.51.100.1", tracker);
    this.a = new LabHost(this.ns("ha"), plan.hostIps.a, tracker);
    this.b = new LabHost(this.ns("hb"), plan.hostIps.b, tracker);
  }

  static async create(opts: LabOptions): Promise<Lab> {
    const { ok, why } = natlabAvailableSync();
    if (!ok) throw new Error(`natlab unavailable: ${why}`);
    sweepLeftovers();
    installExitHook();
    const prefix = opts.prefix ?? `p2p${process.pid}x${++labCounter}`;
    const plan = planLab(opts.a, opts.b, opts.sameNat ?? false);
    const lab = new Lab(prefix, plan, opts.sameNat ?? false, new ProcessTracker());
    liveLabs.add(lab);
    try {
      await lab.build();
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** Namespace name for a role, e.g. `p2p4242x3na`. */
  ns(role: Role): string {
    return `${this.prefix}${role}`;
  }

  /** Address the outside world sees for this side's host (the host's own one when `public`). */
  natPublicIp(side: Side): string {
    return this.plan.natPublicIps[side];
  }

  /** The NAT box of a side (natA for both sides when sameNat), e.g. to run `conntrack -L`. */
  natBox(side: Side): LabHost {
    const role = side === "a" || this.sameNat ? "na" : "nb";
    return new LabHost(this.ns(role), this.plan.natWanIps[side], this.tracker);
  }

  /** Forget every mapping of a side's NAT, as a NAT reboot would. */
  async flushConntrack(side: Side): Promise<void> {
    const res = await this.natBox(side).exec(["conntrack", "-F"]);
    // conntrack -F exits 1 when the table was already empty; that is still a flushed table.
    if (res.code !== 0 && !/0 flow entries/.test(res.stderr)) throw new Error(`conntrack -F: ${res.stderr}`);
  }

  /** Live conntrack entries of a side's NAT box, one `conntrack -L` line each. */
  async conntrackEntries(side: Side, filter: string[] = []): Promise<string[]> {
    const res = await this.natBox(side).execChecked(["conntrack", "-L", ...filter]);
    return res.stdout.split("\n").filter((l) => l.trim() !== "");
  }

  /**
   * The public port a side's NAT gave the host's UDP flow from `hostPort` to `remote` ("ip:port"),
   * read from conntrack (the reply tuple's destination port); undefined when there is no flow.
   */
  async mappedUdpPort(side: Side, hostPort: number, remote: string): Promise<number | undefined> {
    const host = ["-s", this.plan.hostIps[side], "--sport", String(hostPort)];
    const filter = ["-p", "udp", ...host, "-d", ipOf(remote), "--dport", String(portOf(remote))];
    const [entry] = await this.conntrackEntries(side, filter);
    const dports = entry ? [...entry.matchAll(/dport=(\d+)/g)] : [];
    return dports.length === 2 ? Number(dports[1]![1]) : undefined;
  }

  /** Random loss on the NAT box's forward path (both directions); 0 turns it off. */
  async setLoss(side: Side, percent: number): Promise<void> {
    const rule = lossRule(percent);
    const script = `flush chain ip natlab loss\n${rule ? `add rule ip natlab loss ${rule}\n` : ""}`;
    await this.natBox(side).execChecked(["nft", "-f", "-"], { input: script });
  }

  /** Packets that arrived at the introducer host, by protocol and p2ptun packet type. */
  introducerCounters(): Promise<Counters<(typeof INTRODUCER_COUNTERS)[number]>> {
    return readCounters(this.introducer, INTRODUCER_COUNTERS);
  }

  /** Packets the core forwarded between side A's and side B's public blocks. */
  coreCounters(): Promise<Counters<(typeof CORE_COUNTERS)[number]>> {
    return readCounters(this.core, CORE_COUNTERS);
  }

  /** Drops by the NAT box's firewall (unsolicited inbound, blocked UDP, emulated loss). */
  natCounters(side: Side): Promise<Counters<(typeof NAT_COUNTERS)[number]>> {
    return readCounters(this.natBox(side), NAT_COUNTERS);
  }

  /** Kills every process started in the lab and deletes its namespaces. Safe to call twice. */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  /** The same as destroy, for process-exit hooks where nothing asynchronous runs any more. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.tracker.killAll();
    removeNamespaces(this.namespaces());
    liveLabs.delete(this);
  }

  private namespaces(): string[] {
    return this.plan.namespaces.map((n) => this.ns(n.role));
  }

  private async build(): Promise<void> {
    const root = [
      ...this.namespaces().map((ns) => `netns add ${ns}`),
      ...this.plan.veths.map(
        (v) =>
          `link add ${v.a.ifname} netns ${this.ns(v.a.role)} type veth peer name ${v.b.ifname} netns ${this.ns(v.b.role)}`,
      ),
    ];
    await execChecked(this.tracker, ["ip", "-batch", "-"], { input: `${root.join("\n")}\n` });
    await Promise.all(
      this.plan.namespaces.map((cfg) =>
        execChecked(this.tracker, ["ip", "netns", "exec", this.ns(cfg.role), "sh", "-ec", setupScript(cfg)]),
      ),
    );
  }
}

/** One shell script per namespace, so building a lab costs one process per namespace. */
function setupScript(cfg: NsConfig): string {
  const parts = [`ip -batch - <<'NATLAB_EOF'\n${cfg.ipBatch.join("\n")}\nNATLAB_EOF`];
  // nft first: loading a ct rule is what makes the nf_conntrack sysctls exist in the namespace.
  if (cfg.nft) parts.push(`nft -f - <<'NATLAB_EOF'\n${cfg.nft}NATLAB_EOF`);
  const sysctls = Object.entries(cfg.sysctls).map(([k, v]) => `${k}=${v}`);
  if (sysctls.length > 0) parts.push(`sysctl -qw ${sysctls.join(" ")}`);
  return parts.join("\n");
}

async function readCounters<K extends string>(host: LabHost, names: readonly K[]): Promise<Counters<K>> {
  const res = await host.execChecked(["nft", "-j", "list", "counters", "table", "ip", "natlab"]);
  const items = (JSON.parse(res.stdout) as { nftables: { counter?: Counter & { name: string } }[] }).nftables;
  const out = {} as Counters<K>;
  for (const name of names) {
    const c = items.find((i) => i.counter?.name === name)?.counter;
    if (!c) throw new Error(`counter ${name} missing in ${host.ns}`);
    out[name] = { packets: c.packets, bytes: c.bytes };
  }
  return out;
}

/** Synchronous so the process-exit hook can use it: kill whatever runs inside, then delete. */
function removeNamespaces(names: string[]): void {
  const existing = new Set(listNamespaces());
  const doomed = names.filter((n) => existing.has(n));
  for (const ns of doomed) {
    let pids: string[] = [];
    try {
      pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split(/\s+/).filter(Boolean);
    } catch {
      // deleted meanwhile (another process's sweep); nothing left to kill
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
  }
  if (doomed.length === 0) return;
  try {
    // -force: keep deleting the rest if one is already gone (e.g. another process's sweep).
    execFileSync("ip", ["-force", "-batch", "-"], {
      input: doomed.map((n) => `netns del ${n}\n`).join(""),
      stdio: ["pipe", "ignore", "pipe"],
    });
  } catch {
    // judged by what is left below
  }
  const left = listNamespaces().filter((n) => doomed.includes(n));
  if (left.length > 0) throw new Error(`natlab: could not delete namespaces ${left.join(", ")}`);
}

/** Namespace names, as `ip netns list` shows them (first word of each line). */
export function listNamespaces(): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter(Boolean);
}

/** Deletes default-named namespaces whose creating process no longer exists (a crashed run). */
export function sweepLeftovers(): string[] {
  const dead = listNamespaces().filter((ns) => {
    const m = DEFAULT_NAME.exec(ns);
    return m !== null && !processAlive(Number(m[1]));
  });
  removeNamespaces(dead);
  return dead;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const lab of liveLabs) {
      try {
        lab.destroySync();
      } catch {
        // best effort while exiting
      }
    }
  });
}
