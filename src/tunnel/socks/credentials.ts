/**
 * Username/password check in constant time. Both sides are hashed first so that neither the
 * length nor the position of the first differing byte shows in the timing; both fields are
 * always compared (no short circuit on a wrong username).
 */
import { createHash, timingSafeEqual } from "node:crypto";

export interface SocksCredentials {
  username: string;
  password: string;
}

function digest(b: Uint8Array): Buffer {
  return createHash("sha256").update(b).digest();
}

export function credentialsMatch(
  expected: SocksCredentials,
  username: Uint8Array,
  password: Uint8Array,
): boolean {
  const userOk = timingSafeEqual(digest(Buffer.from(expected.username, "utf8")), digest(username));
  const passOk = timingSafeEqual(digest(Buffer.from(expected.password, "utf8")), digest(password));
  return userOk && passOk;
}
