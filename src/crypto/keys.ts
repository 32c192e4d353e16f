/**
 * Key encoding and key files. Keys are X25519, written as base64 of the 32 raw bytes on one line,
 * like WireGuard's. Private key files are created 0600 and refused when group or world can read them.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { KeyFileError } from "../util/errors.js";
import { generateKeyPair, publicKeyOf } from "./primitives.js";

export { generateKeyPair, publicKeyOf };

const B64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** Decodes a base64 key; returns null unless it is exactly 32 bytes in canonical base64. */
export function decodeKey(text: string): Buffer | null {
  if (typeof text !== "string") return null;
  const t = text.trim();
  if (!B64_KEY.test(t)) return null;
  const raw = Buffer.from(t, "base64");
  if (raw.length !== 32 || raw.toString("base64") !== t) return null;
  return raw;
}

export function encodeKey(raw: Uint8Array): string {
  return Buffer.from(raw).toString("base64");
}

/** Writes a new private key file with mode 0600; refuses to overwrite an existing file. */
export function writePrivateKeyFile(path: string, privateKey: Buffer): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new KeyFileError("KEY_EXISTS", `${path}: already exists; refusing to overwrite a key`);
    throw new KeyFileError("KEY_WRITE", `${path}: cannot create key file: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, `${encodeKey(privateKey)}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Parses a private key from text (a key file's content or stdin). */
export function parsePrivateKey(text: string, source: string): Buffer {
  const key = decodeKey(text);
  if (!key)
    throw new KeyFileError(
      "KEY_MALFORMED",
      `${source}: not a private key (expected base64 of 32 bytes on one line)`,
    );
  return key;
}

/** Reads a private key file, refusing one that group or others may read. */
export function readPrivateKeyFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new KeyFileError(
        "KEY_MISSING",
        `${path}: no such key file (create one with: p2ptun keygen -o ${path})`,
      );
    throw new KeyFileError("KEY_READ", `${path}: cannot read key file: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
      throw new KeyFileError(
        "KEY_PERMISSIONS",
        `${path}: private key is readable by others (mode ${mode}); fix it with: chmod 600 ${path}`,
      );
    }
    return parsePrivateKey(readFileSync(fd, "utf8"), path);
  } finally {
    closeSync(fd);
  }
}
