/**
 * Runs p2ptun processes (introducer, daemons) as children, as a user would from a shell, with
 * their logs in files, and asks their control sockets how they are doing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { controlRequest } from "../cli/control-client.js";
import type { DaemonStatus } from "../daemon/status-types.js";

/** The built CLI, found from the package root (this file runs from dist/ or, in tests, src/). */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "cli", "main.js");

export function spawnP2ptun(args: string[], logFile: string, opts: { cwd?: string } = {}): ChildProcess {
  const out = openSync(logFile, "a");
  return spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", out, out], cwd: opts.cwd });
}

export async function statusOf(control: string): Promise<DaemonStatus | null> {
  try {
    return (await controlRequest(control, { cmd: "status" })).status as DaemonStatus;
  } catch {
    return null;
  }
}

/** Polls until `pred(status)` holds; resolves with that status, or rejects after `timeoutMs`. */
export async function waitForStatus(
  control: string,
  pred: (s: DaemonStatus) => boolean,
  timeoutMs = 20_000,
  pollMs = 50,
): Promise<DaemonStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: DaemonStatus | null = null;
  while (Date.now() < deadline) {
    last = await statusOf(control);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`timed out waiting on ${control}; last status: ${JSON.stringify(last)}`);
}

export function stopProcess(p: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    p.once("exit", (code) => {
      clearTimeout(t);
      resolve(code);
    });
    p.kill(signal);
  });
}
