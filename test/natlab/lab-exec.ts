/**
 * Running commands inside a lab namespace, and keeping track of every process started there so
 * `Lab.destroy` can kill them all.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Kill the command after this long (default 30 s) so a stuck probe cannot hang a test run. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export class LabCommandError extends Error {
  readonly code = "NATLAB_COMMAND_FAILED";
  constructor(
    readonly cmd: string[],
    readonly result: ExecResult,
  ) {
    super(`${cmd.join(" ")} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** Processes started in a lab. Each gets its own process group so its children die with it. */
export class ProcessTracker {
  private readonly live = new Set<ChildProcess>();

  spawn(cmd: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: "pipe", ...opts, detached: true });
    this.live.add(child);
    child.once("exit", () => this.live.delete(child));
    // An ENOENT would otherwise be an unhandled 'error' event that crashes the test worker.
    child.once("error", () => this.live.delete(child));
    return child;
  }

  get size(): number {
    return this.live.size;
  }

  killAll(): void {
    for (const child of this.live) killGroup(child);
    this.live.clear();
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export function exec(tracker: ProcessTracker, cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = tracker.spawn(cmd, { env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => killGroup(child), opts.timeoutMs ?? 30_000);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? (signal ? 128 : 1) });
    });
    child.stdin!.on("error", () => {}); // the command may exit without reading its input
    child.stdin!.end(opts.input ?? "");
  });
}

export async function execChecked(
  tracker: ProcessTracker,
  cmd: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const result = await exec(tracker, cmd, opts);
  if (result.code !== 0) throw new LabCommandError(cmd, result);
  return result;
}

/** `ip netns exec NS ...`: ip execs the command itself, so the child's pid is the command's pid. */
export function inNs(ns: string, cmd: string[]): string[] {
  return ["ip", "netns", "exec", ns, ...cmd];
}

/** One host in the lab: a namespace and the address its own interface has. */
export class LabHost {
  constructor(
    readonly ns: string,
    readonly ip: string,
    private readonly tracker: ProcessTracker,
  ) {}

  exec(cmd: string[], opts?: ExecOptions): Promise<ExecResult> {
    return exec(this.tracker, inNs(this.ns, cmd), opts);
  }

  /** Like exec, but throws LabCommandError on a non-zero exit. */
  execChecked(cmd: string[], opts?: ExecOptions): Promise<ExecResult> {
    return execChecked(this.tracker, inNs(this.ns, cmd), opts);
  }

  /** A long-running process in this namespace; killed by Lab.destroy. */
  spawn(cmd: string[], opts?: SpawnOptions): ChildProcess {
    return this.tracker.spawn(inNs(this.ns, cmd), opts);
  }
}
