import type { Command } from "commander";
import { loadAnyConfig } from "../../config/load.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("check")
    .description("validate a daemon or introducer config file; exit 0 when valid, 1 otherwise")
    .requiredOption("-c, --config <file>", "config file")
    .action(
      action((opts: { config: string }) => {
        const cfg = loadAnyConfig(opts.config);
        process.stdout.write(`${opts.config}: valid ${cfg.kind} config\n`);
      }),
    );
}
