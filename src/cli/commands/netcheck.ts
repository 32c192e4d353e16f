import type { Command } from "commander";
import { NotAvailableError } from "../../util/errors.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("netcheck")
    .description("report what the NAT in front of this machine does and what that means for punching")
    .action(
      action(() => {
        throw new NotAvailableError("p2ptun netcheck");
      }),
    );
}
