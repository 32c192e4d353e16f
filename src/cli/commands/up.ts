import type { Command } from "commander";
import { NotAvailableError } from "../../util/errors.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("up")
    .description("run the daemon: register with the introducers, punch to peers, serve forwards and SOCKS")
    .action(
      action(() => {
        throw new NotAvailableError("p2ptun up");
      }),
    );
}
