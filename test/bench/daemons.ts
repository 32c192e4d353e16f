/**
 * The benchmarks' world: an introducer and two daemons (joe, bob) on loopback, joe forwarding one
 * port to a sink and one to an echo service, started from a chosen build's CLI and waited on
 * until joe is connected. Each process logs to DIR/NAME.log.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { waitForStatus } from "../../src/demo/processes.js";
import { writeWorld } from "../../src/demo/world.js";

export interface BenchPorts {
  intro: number;
  sink: number;
  fwdSink: number;
  echo: number;
  fwdEcho: number;
}

export interface BenchDaemons {
  joe: ChildProcess;
  bob: ChildProcess;
  introducer: ChildProcess;
}

export async function startDaemons(o: {
  dir: string;
  /** The dist/cli/main.js to run. */
  cli: string;
  ports: BenchPorts;
  /** Extra node flags for a process, by name (introducer, bob, joe). */
  nodeFlags?: (name: string) => string[];
  /** Every process started is pushed here (for the caller's cleanup), even if this throws. */
  children: ChildProcess[];
}): Promise<BenchDaemons> {
  const { dir, ports: P } = o;
  const world = writeWorld({
    dir,
    introducerHost: "127.0.0.1",
    introducerPort: P.intro,
    forwardListen: `127.0.0.1:${P.fwdSink}`,
    target: `127.0.0.1:${P.sink}`,
    extraForwards: [{ listen: `127.0.0.1:${P.fwdEcho}`, connect: `127.0.0.1:${P.echo}` }],
    logLevel: "warn",
  });
  const run = (name: string, args: string[]) => {
    const log = openSync(join(dir, `${name}.log`), "a");
    const p = spawn(process.execPath, [...(o.nodeFlags?.(name) ?? []), o.cli, ...args], {
      stdio: ["ignore", log, log],
      cwd: dir,
    });
    o.children.push(p);
    return p;
  };
  const introducer = run("introducer", ["introducer", "-c", world.introducerConfig]);
  const bob = run("bob", ["up", "-c", world.bobConfig]);
  const joe = run("joe", ["up", "-c", world.joeConfig]);
  await waitForStatus(world.joeControl, (s) => s.peers[0]?.state === "connected", 30_000);
  return { joe, bob, introducer };
}
