import type { Command } from "commander";
import { runDemo } from "../../demo/run.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("demo")
    .description("run an introducer and two daemons on loopback and move data through a forward")
    .option("--keep", "stay up afterwards and print how to use the forward")
    .option("--megabytes <n>", "how much data to send through the forward", "100")
    .action(
      action(async (opts: { keep?: boolean; megabytes: string }) => {
        const ok = await runDemo({
          keep: !!opts.keep,
          megabytes: Math.max(1, Number(opts.megabytes) || 100),
          out: process.stdout,
        });
        if (!ok) process.exitCode = 1;
      }),
    );
}
