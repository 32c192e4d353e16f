import type { Command } from "commander";
import { ControlError } from "../../util/errors.js";
import { controlRequest, resolveControlPath } from "../control-client.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("ping <peer>")
    .description("measure round trips to a peer over the peer link, like tailscale ping")
    .option("-c, --config <file>", "the daemon's config (to find its control socket)")
    .option("--control <path>", "the daemon's control socket")
    .option("-n, --count <n>", "number of pings", "4")
    .action(
      action(async (peer: string, opts: { config?: string; control?: string; count: string }) => {
        const count = Number(opts.count);
        if (!Number.isInteger(count) || count < 1)
          throw new ControlError("BAD_COUNT", "p2ptun: --count must be a whole number ≥ 1");
        let answered = 0;
        await controlRequest(resolveControlPath(opts), { cmd: "ping", peer, count }, (line) => {
          if (typeof line.rttMs === "number") {
            answered++;
            process.stdout.write(
              `pong from ${peer} (${line.endpoint}) via ${line.path} in ${line.rttMs.toFixed(2)}ms\n`,
            );
          } else {
            process.stdout.write(`timeout: no pong from ${peer}${line.reason ? ` (${line.reason})` : ""}\n`);
          }
        });
        if (answered === 0) throw new ControlError("PEER_UNREACHABLE", `p2ptun: ${peer} is unreachable`);
      }),
    );
}
