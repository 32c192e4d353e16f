import type { Command } from "commander";
import { NotAvailableError } from "../../util/errors.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("status")
    .description("show the daemon's introducers, peers and paths")
    .action(
      action(() => {
        throw new NotAvailableError("p2ptun status");
      }),
    );
}
