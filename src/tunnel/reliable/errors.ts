import { P2pError } from "../../util/errors.js";

/** ReliableChannel options that cannot work (a programming or configuration mistake). */
export class ReliableOptionsError extends P2pError {
  constructor(message: string) {
    super("RELIABLE_OPTIONS_INVALID", message);
  }
}
