/**
 * How every command ends: known errors print one clear line on stderr and set the exit code
 * (2 for "not available yet", 1 otherwise); unknown errors print their stack, since they are bugs.
 */
import { NotAvailableError, P2pError } from "../util/errors.js";

export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof NotAvailableError) {
        process.stderr.write(`p2ptun: ${e.message}\n`);
        process.exitCode = 2;
      } else if (e instanceof P2pError) {
        process.stderr.write(`${e.message}\n`);
        process.exitCode = 1;
      } else {
        process.stderr.write(`p2ptun: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 1;
      }
    }
  };
}
