import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  decodeKey,
  encodeKey,
  generateKeyPair,
  publicKeyOf,
  readPrivateKeyFile,
} from "../../src/crypto/keys.js";
import { dh } from "../../src/crypto/primitives.js";
import { KeyFileError } from "../../src/util/errors.js";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "p2ptun-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("key codec", () => {
  it("round-trips any 32 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        const text = encodeKey(raw);
        expect(text).toHaveLength(44);
        expect(decodeKey(text)?.equals(Buffer.from(raw))).toBe(true);
      }),
    );
  });

  it("rejects anything that is not canonical base64 of 32 bytes, without throwing", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const k = decodeKey(s);
        if (k !== null) expect(encodeKey(k)).toBe(s.trim());
      }),
    );
    expect(decodeKey(encodeKey(Buffer.alloc(31)))).toBeNull();
    expect(decodeKey(encodeKey(Buffer.alloc(33)))).toBeNull();
    expect(decodeKey("not a key")).toBeNull();
  });

  it("derives public keys consistently with X25519 agreement", () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(publicKeyOf(a.privateKey).equals(a.publicKey)).toBe(true);
    expect(dh(a.privateKey, b.publicKey).equals(dh(b.privateKey, a.publicKey))).toBe(true);
  });

  it("matches the RFC 7748 section 6.1 test vector", () => {
    const alicePriv = Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex");
    const bobPub = Buffer.from("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", "hex");
    expect(publicKeyOf(alicePriv).toString("hex")).toBe(
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    );
    expect(dh(alicePriv, bobPub).toString("hex")).toBe(
      "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
    );
  });
});

describe("key files", () => {
  it("keygen -o writes a 0600 file and pubkey round-trips it", () => {
    const file = join(dir, "k1.key");
    const gen = runCli(["keygen", "-o", file]);
    expect(gen.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const pub = runCli(["pubkey", file]);
    expect(pub.code).toBe(0);
    expect(pub.stdout.trim()).toBe(gen.stdout.trim());
    expect(decodeKey(readFileSync(file, "utf8"))).not.toBeNull();
  });

  it("keygen refuses to overwrite an existing file", () => {
    const file = join(dir, "k2.key");
    writeFileSync(file, "precious\n", { mode: 0o600 });
    const r = runCli(["keygen", "-o", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("already exists");
    expect(readFileSync(file, "utf8")).toBe("precious\n");
  });

  it("keygen without -o prints a private key that pubkey reads from stdin", () => {
    const priv = runCli(["keygen"]).stdout.trim();
    expect(decodeKey(priv)).not.toBeNull();
    const pub = runCli(["pubkey"], { input: `${priv}\n` });
    expect(pub.code).toBe(0);
    expect(pub.stdout.trim()).toBe(encodeKey(publicKeyOf(decodeKey(priv)!)));
  });

  it("refuses a group/world-readable key file and names the chmod that fixes it", () => {
    const file = join(dir, "k3.key");
    expect(runCli(["keygen", "-o", file]).code).toBe(0);
    chmodSync(file, 0o644);
    expect(() => readPrivateKeyFile(file)).toThrow(KeyFileError);
    const r = runCli(["pubkey", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain(`chmod 600 ${file}`);
  });

  it("explains a missing or malformed key file", () => {
    expect(runCli(["pubkey", join(dir, "nope.key")]).stderr).toContain("p2ptun keygen -o");
    const bad = join(dir, "bad.key");
    writeFileSync(bad, "hello\n", { mode: 0o600 });
    const r = runCli(["pubkey", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not a private key");
  });
});
