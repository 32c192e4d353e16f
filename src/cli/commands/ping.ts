import type { Command } from "commander";
import { NotAvailableError } from "../../util/errors.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("ping")
    .description("measure round trips to a peer over the peer link")
    .action(
      action(() => {
        throw new NotAvailableError("p2ptun ping");
      }),
    );
}
