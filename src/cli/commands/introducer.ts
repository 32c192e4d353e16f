import type { Command } from "commander";
import { NotAvailableError } from "../../util/errors.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("introducer")
    .description("run an introducer (rendezvous server)")
    .action(
      action(() => {
        throw new NotAvailableError("p2ptun introducer");
      }),
    );
}
