/**
 * Reusable zod field types for the config files. Each carries a message a person understands,
 * and a description that ends up in the generated JSON Schema (editor hover text).
 */
import { z } from "zod";
import { decodeKey } from "../crypto/keys.js";
import { parseHostPort } from "../util/addr.js";

export function hostPort(description: string, opts: { allowZeroPort?: boolean; defaultPort?: number } = {}) {
  return z
    .string()
    .describe(description)
    .superRefine((v, ctx) => {
      const r = parseHostPort(v, opts);
      if (!r.ok)
        ctx.addIssue({
          code: "custom",
          message: `expected host:port, got ${JSON.stringify(v)} (${r.error})`,
        });
    });
}

export const publicKey = z
  .string()
  .describe("an X25519 public key: base64 of 32 bytes, as printed by `p2ptun keygen` or `p2ptun pubkey`")
  .refine((v) => decodeKey(v) !== null, {
    message: "expected a public key (base64 of 32 bytes, 44 characters ending in '=')",
  });

export const peerName = z
  .string()
  .describe("a peer name: letters, digits, '.', '_' or '-', at most 64 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message:
      "expected a name of letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)",
  });

export const logLevel = z
  .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
  .describe("log level");

export const logSection = z
  .strictObject({
    level: logLevel.default("info"),
  })
  .describe("logging: JSON lines on stdout");
