import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadDaemonConfig, loadIntroducerConfig, parseConfigText } from "../../src/config/load.js";
import { daemonConfigSchema } from "../../src/config/schema.js";
import { ConfigError } from "../../src/util/errors.js";
import { repoRoot, runCli } from "../helpers/cli.js";

const JOE = "lLZHDlAd4cJt6DqIMNp5A+m/3tKiyeGh5l3ykT1ItQA=";
const BOB = "g/ghIm56ut5AhsVvqsrh0ZfqBdAj9f4aCTyj6cgnVi4=";
const INTRO = "21ciJ8eF9tRGHYABnpg2z8Nyvlrk2PLEgNlo4u2Zpx8=";

const base = `name: joe
privateKeyFile: ./joe.key
introducers:
  - address: 198.51.100.2:2345
    publicKey: ${INTRO}
peers:
  - name: bob
    publicKey: ${BOB}
    allow: ["127.0.0.1:22"]
forwards:
  - listen: 127.0.0.1:2200
    peer: bob
    connect: 127.0.0.1:22
socks:
  - listen: 127.0.0.1:1080
    peer: bob
`;

function errorsOf(text: string): string[] {
  try {
    parseConfigText(text, "config.yaml", daemonConfigSchema);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error("expected the config to be refused");
}

describe("daemon config", () => {
  it("accepts the base config and fills defaults", () => {
    const cfg = parseConfigText(base, "config.yaml", daemonConfigSchema);
    expect(cfg.bind).toBe("0.0.0.0:0");
    expect(cfg.log.level).toBe("info");
    expect(cfg.punch.primerTtl).toBe(2);
    expect(cfg.peers[0].allow).toEqual(["127.0.0.1:22"]);
  });

  it("accepts the documented example files", () => {
    expect(loadDaemonConfig(join(repoRoot, "config.example.yaml")).name).toBe("joe");
    expect(loadIntroducerConfig(join(repoRoot, "introducer.example.yaml")).peers).toHaveLength(2);
    expect(runCli(["check", "-c", "config.example.yaml"]).code).toBe(0);
    expect(runCli(["check", "-c", "introducer.example.yaml"]).code).toBe(0);
  });

  it("the example references the generated schema", () => {
    expect(readFileSync(join(repoRoot, "config.example.yaml"), "utf8")).toMatch(
      /^# yaml-language-server: \$schema=\.\/schema\/daemon\.schema\.json/m,
    );
  });

  const cases: [string, string, string][] = [
    [
      "a port without host",
      base.replace("listen: 127.0.0.1:2200", 'listen: "2200"'),
      'config.yaml:11:13: forwards[0].listen: expected host:port, got "2200"',
    ],
    [
      "an unknown key (typo)",
      base.replace("    peer: bob\n    connect", "    peer: bob\n    conect: x\n    connect"),
      'config.yaml:13:5: forwards[0].conect: unknown key; did you mean "connect"?',
    ],
    [
      "a forward to an unknown peer",
      base.replace("    peer: bob\n    connect", "    peer: bib\n    connect"),
      'config.yaml:12:11: forwards[0].peer: unknown peer "bib"; peers are: bob',
    ],
    [
      "a malformed public key",
      base.replace(BOB, "notakey"),
      "config.yaml:8:16: peers[0].publicKey: expected a public key",
    ],
    [
      "a duplicate peer name",
      base.replace("forwards:", `  - name: bob\n    publicKey: ${JOE}\nforwards:`),
      'config.yaml:10:11: peers[1].name: duplicate peer name "bob" (also peers[0])',
    ],
    [
      "a duplicate listen address",
      base.replace("listen: 127.0.0.1:1080", "listen: 127.0.0.1:2200"),
      "config.yaml:15:13: socks[0].listen: duplicate listen address 127.0.0.1:2200 (also forwards[0])",
    ],
    ["a wrong type", base.replace("name: joe", "name: 42"), "config.yaml:1:7: name: expected string, got 42"],
    [
      "a missing key",
      base.replace("privateKeyFile: ./joe.key\n", ""),
      "config.yaml:1:1: privateKeyFile: missing (expected string)",
    ],
    [
      "a bad allow entry",
      base.replace('["127.0.0.1:22"]', '["127.0.0.1"]'),
      "config.yaml:9:13: peers[0].allow[0]:",
    ],
    [
      "no introducers",
      base.replace(/introducers:\n(.*\n){2}/, "introducers: []\n"),
      "config.yaml:3:14: introducers: expected at least one introducer",
    ],
    ["a YAML syntax error", base.replace("peers:\n", "peers: [\n"), "config.yaml:"],
    ["a duplicate YAML key", `${base}name: again\n`, "config.yaml:"],
  ];
  for (const [what, text, expected] of cases) {
    it(`refuses ${what} with file:line:col and key path`, () => {
      const errs = errorsOf(text);
      expect(
        errs.some((e) => e.startsWith(expected)),
        `got:\n${errs.join("\n")}`,
      ).toBe(true);
      for (const e of errs) expect(e).toMatch(/^config\.yaml:\d+:\d+: /);
    });
  }

  it("p2ptun check prints the error line and exits 1", () => {
    const r = runCli(["check", "-c", "test/fixtures/bad-forward.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'test/fixtures/bad-forward.yaml:11:13: forwards[0].listen: expected host:port, got "2200"',
    );
  });

  it("a missing config file is a clear error", () => {
    const r = runCli(["check", "-c", "does-not-exist.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does-not-exist.yaml: cannot read config: no such file");
  });

  it("never throws anything but ConfigError on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        try {
          parseConfigText(text, "f.yaml", daemonConfigSchema);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          for (const line of (e as ConfigError).issues) expect(line).toMatch(/^f\.yaml:\d+:\d+: /);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("never throws anything but ConfigError on mutated valid configs", () => {
    const lines = base.split("\n");
    fc.assert(
      fc.property(fc.nat(lines.length - 1), fc.nat(80), fc.string({ maxLength: 12 }), (li, col, ins) => {
        const l = [...lines];
        l[li] = l[li].slice(0, col) + ins + l[li].slice(col + ins.length);
        try {
          parseConfigText(l.join("\n"), "f.yaml", daemonConfigSchema);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          for (const line of (e as ConfigError).issues) expect(line).toMatch(/^f\.yaml:\d+:\d+: /);
        }
      }),
      { numRuns: 300 },
    );
  });
});
