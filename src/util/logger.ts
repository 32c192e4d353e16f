/**
 * pino JSON lines on stdout (journald keeps them as they are). Anything that looks like a
 * secret is redacted by key name, wherever it sits in a log object.
 */
import { type Logger, pino } from "pino";

export type { Logger };

const REDACT = [
  "privateKey",
  "*.privateKey",
  "password",
  "*.password",
  "*.*.password",
  "secret",
  "*.secret",
  "key",
  "*.key",
];

export function createLogger(
  opts: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      level: opts.level ?? "info",
      name: opts.name,
      base: { pid: process.pid },
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (opts.destination as pino.DestinationStream | undefined) ?? pino.destination({ sync: false }),
  );
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = pino({ level: "silent" });
