import type { Command } from "commander";
import { NotAvailableError } from "../../util/errors.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("demo")
    .description("run an introducer and two daemons on loopback and move data through a forward")
    .action(
      action(() => {
        throw new NotAvailableError("p2ptun demo");
      }),
    );
}
