/**
 * Typed errors with stable codes. Callers branch on `code` or `instanceof`, never on message text.
 * Errors are for configuration and programming mistakes; bad packets on the hot path are dropped
 * and counted instead (see the per-component `counters`).
 */
export class P2pError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A config file that cannot be used; `message` is one line: `file:line:col: path: problem`. */
export class ConfigError extends P2pError {
  constructor(
    message: string,
    readonly issues: string[] = [message],
  ) {
    super("CONFIG_INVALID", message);
  }
}

export class KeyFileError extends P2pError {}

/** A CLI feature that exists in the interface but is not built yet: exit code 2. */
export class NotAvailableError extends P2pError {
  constructor(what: string) {
    super("NOT_AVAILABLE", `${what} is not available yet`);
  }
}

/** The daemon's control socket could not be reached. */
export class ControlError extends P2pError {}
