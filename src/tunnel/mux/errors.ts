import { resetCodeName } from "./codes.js";

/**
 * A stream ended by a RESET code (see `RESET`). `code` is the numeric wire code, `codeName` its
 * name, `reason` the far side's human-readable text. Not a P2pError: the brief for the mux API
 * fixes `code` as the numeric reset code, which the SOCKS server maps to a reply.
 */
export class StreamError extends Error {
  readonly codeName: string;
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
    this.codeName = resetCodeName(code);
  }
}

/** `open()` failed: the far side refused (or the session ended) before accepting. */
export class StreamRefusedError extends StreamError {
  constructor(code: number, reason: string) {
    super(code, reason, `stream refused: ${resetCodeName(code)}${reason ? `: ${reason}` : ""}`);
  }
}

/** An accepted stream was reset by the far side, or torn down because the session ended. */
export class StreamResetError extends StreamError {
  constructor(code: number, reason: string) {
    super(code, reason, `stream reset: ${resetCodeName(code)}${reason ? `: ${reason}` : ""}`);
  }
}
