import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

describe("p2ptun CLI", () => {
  it("--help lists every command", () => {
    const r = runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const cmd of [
      "up",
      "introducer",
      "keygen",
      "pubkey",
      "status",
      "ping",
      "netcheck",
      "check",
      "demo",
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, "m"));
    }
  });

  it("an unknown command is an error, not a silent no-op", () => {
    const r = runCli(["frobnicate"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unknown command");
  });
});
