/**
 * Runs the real p2ptun processes inside a NAT lab: an introducer on the public segment, joe
 * behind side A and bob behind side B, each with its own config, log and control socket (the
 * namespaces share the filesystem, and Unix sockets reach across network namespaces).
 */
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { DaemonStatus } from "../../src/daemon/status-types.js";
import { CLI, statusOf, stopProcess, waitForStatus } from "../../src/demo/processes.js";
import { type World, writeWorld } from "../../src/demo/world.js";
import { INTRODUCER_IP, type Lab, type LabHost } from "./lab.js";

export const INTRODUCER_PORT = 2345;
export const FORWARD_PORT = 2200;
export const TARGET_PORT = 7000;
const HELPER = join(import.meta.dirname, "target-server.mjs");
const CLIENT = join(import.meta.dirname, "forward-client.mjs");

/** The digest service's answer for `bytes` of forward-client.mjs's pattern. */
export function expectedDigest(bytes: number): string {
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
  const h = createHash("sha256");
  for (let sent = 0; sent < bytes; sent += block.length)
    h.update(block.subarray(0, Math.min(block.length, bytes - sent)));
  return `${bytes} ${h.digest("hex")}`;
}

/**
 * A P2pWorld in `ctx`'s lab for the tests of one describe: made and `prepare`d before them,
 * destroyed after. `held.w` is the world once the tests run.
 */
export function useP2pWorld(
  ctx: { readonly lab: Lab },
  prepare: (w: P2pWorld) => unknown = () => {},
): { readonly w: P2pWorld } {
  const held = {} as { w: P2pWorld };
  beforeAll(async () => {
    held.w = new P2pWorld(ctx.lab);
    await prepare(held.w);
  });
  afterAll(async () => {
    await held.w?.destroy();
  });
  return held;
}

export class P2pWorld {
  readonly dir: string;
  readonly world: World;
  private readonly procs = new Map<string, ChildProcess>();

  constructor(
    readonly lab: Lab,
    opts: {
      joe?: Record<string, unknown>;
      bob?: Record<string, unknown>;
      bobAllows?: string[];
      socksListen?: string;
      /** more forwards of joe's (to targets bob allows too) */
      extraForwards?: { listen: string; connect: string }[];
      /** what joe's forward connects to on bob's side (default 127.0.0.1:TARGET_PORT) */
      target?: string;
    } = {},
  ) {
    this.dir = mkdtempSync(join(tmpdir(), "p2ptun-lab-"));
    this.world = writeWorld({
      dir: this.dir,
      introducerHost: INTRODUCER_IP,
      introducerPort: INTRODUCER_PORT,
      forwardListen: `127.0.0.1:${FORWARD_PORT}`,
      target: `127.0.0.1:${TARGET_PORT}`,
      logLevel: "debug",
      ...opts,
    });
  }

  private spawnIn(host: LabHost, name: string, args: string[]): ChildProcess {
    const out = openSync(join(this.dir, `${name}.log`), "a");
    // P2PTUN_CLI: a private build (e.g. while others rebuild dist/ in the same tree).
    const cli = process.env.P2PTUN_CLI ?? CLI;
    const p = host.spawn([process.execPath, cli, ...args], { stdio: ["ignore", out, out] });
    this.procs.set(name, p);
    return p;
  }

  startIntroducer(): ChildProcess {
    return this.spawnIn(this.lab.introducer, "introducer", ["introducer", "-c", this.world.introducerConfig]);
  }
  startJoe(): ChildProcess {
    return this.spawnIn(this.lab.a, "joe", ["up", "-c", this.world.joeConfig]);
  }
  startBob(): ChildProcess {
    return this.spawnIn(this.lab.b, "bob", ["up", "-c", this.world.bobConfig]);
  }
  /** A digest/echo service on bob's host at 127.0.0.1:TARGET_PORT (see target-server.mjs). */
  startTarget(mode: "digest" | "echo" = "digest"): ChildProcess {
    const out = openSync(join(this.dir, "target.log"), "a");
    const p = this.lab.b.spawn([process.execPath, HELPER, mode, String(TARGET_PORT)], {
      stdio: ["ignore", out, out],
    });
    this.procs.set("target", p);
    return p;
  }

  /** Sends `bytes` through joe's forward from inside joe's namespace; returns the service's reply. */
  async sendThroughForward(bytes: number): Promise<{ code: number; reply: string; error: string }> {
    const r = await this.lab.a.exec([process.execPath, CLIENT, String(FORWARD_PORT), String(bytes)], {
      timeoutMs: 120_000,
    });
    return { code: r.code, reply: r.stdout.trim(), error: r.stderr.trim() };
  }

  /** The pid of a process this world started (the command itself: `ip netns exec` execs it). */
  pid(name: string): number | undefined {
    return this.procs.get(name)?.pid;
  }

  async stop(name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const p = this.procs.get(name);
    this.procs.delete(name);
    return p ? stopProcess(p, signal) : null;
  }

  joe(): Promise<DaemonStatus | null> {
    return statusOf(this.world.joeControl);
  }
  bob(): Promise<DaemonStatus | null> {
    return statusOf(this.world.bobControl);
  }
  waitJoe(pred: (s: DaemonStatus) => boolean, ms = 20_000): Promise<DaemonStatus> {
    return waitForStatus(this.world.joeControl, pred, ms, 20);
  }
  waitBob(pred: (s: DaemonStatus) => boolean, ms = 20_000): Promise<DaemonStatus> {
    return waitForStatus(this.world.bobControl, pred, ms, 20);
  }
  log(name: string): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), "utf8");
    } catch {
      return "";
    }
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((n) => this.stop(n)));
    if (process.env.P2PTUN_KEEP_LOGS) console.log(`[natlab] logs kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

export const connected = (s: DaemonStatus) => s.peers[0]?.state === "connected";
export const registered = (s: DaemonStatus) => s.introducers.every((i) => i.registered);
