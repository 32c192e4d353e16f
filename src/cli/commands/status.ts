import type { Command } from "commander";
import type { DaemonStatus } from "../../daemon/status-types.js";
import { controlRequest, resolveControlPath } from "../control-client.js";
import { renderStatus } from "../render-status.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("status")
    .description("show the daemon's introducers, peers, paths and listeners")
    .option("-c, --config <file>", "the daemon's config (to find its control socket)")
    .option("--control <path>", "the daemon's control socket")
    .option("--json", "print JSON")
    .action(
      action(async (opts: { config?: string; control?: string; json?: boolean }) => {
        const reply = await controlRequest(resolveControlPath(opts), { cmd: "status" });
        const status = reply.status as DaemonStatus;
        process.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
      }),
    );
}
