import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Acl } from "../../src/tunnel/acl.js";
import { dialTarget } from "../../src/tunnel/exit-dialer.js";
import { StreamRefusedError } from "../../src/tunnel/stream-errors.js";

/**
 * Safety property of the exit, checked against a counting server on 127.0.0.1: the exit host's
 * own port is reached exactly when a rule that names its address (or `*`) covers the port —
 * never through a name rule, whatever names and DNS answers are involved.
 */
let server: Server;
let port: number;
let accepted = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = createServer((s) => {
    accepted++;
    sockets.push(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

type HostSpec = "127.0.0.1" | "127.0.0.0/8" | "10.0.0.0/8" | "*" | "svc.test" | "*.test" | "other.test";
interface RuleSpec {
  host: HostSpec;
  ports: "exact" | "range-around" | "star" | "other";
}

const ruleSpec: fc.Arbitrary<RuleSpec> = fc.record({
  host: fc.constantFrom<HostSpec>(
    "127.0.0.1",
    "127.0.0.0/8",
    "10.0.0.0/8",
    "*",
    "svc.test",
    "*.test",
    "other.test",
  ),
  ports: fc.constantFrom<RuleSpec["ports"]>("exact", "range-around", "star", "other"),
});

function entryText(r: RuleSpec): string {
  const ports = {
    exact: `${port}`,
    "range-around": `${Math.max(1, port - 5)}-${Math.min(65535, port + 5)}`,
    star: "*",
    other: `${port === 1 ? 2 : port - 1}`,
  }[r.ports];
  return `${r.host}:${ports}`;
}

/** The oracle, written from the specs, not from the Acl: does an address rule cover us? */
function loopbackAllowed(rules: RuleSpec[]): boolean {
  return rules.some((r) => ["127.0.0.1", "127.0.0.0/8", "*"].includes(r.host) && r.ports !== "other");
}

describe("exit dialer safety (property)", () => {
  it("reaches 127.0.0.1 exactly when an address rule covers it, by IP or by any name", async () => {
    const target = fc.constantFrom("ip", "svc.test", "x.test", "unlisted.example");
    const answers = fc.constantFrom(
      ["127.0.0.1"],
      ["::ffff:127.0.0.1"],
      ["10.1.2.3", "127.0.0.1"],
      ["127.0.0.1", "::1"],
    );
    await fc.assert(
      fc.asyncProperty(fc.array(ruleSpec, { maxLength: 4 }), target, answers, async (rules, kind, dns) => {
        const parsed = Acl.parse(rules.map(entryText));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const before = accepted;
        const text = kind === "ip" ? `127.0.0.1:${port}` : `${kind}:${port}`;
        // localOnly keeps the 10.x answer from being dialled for real; it is refused either way.
        const result = await dialTarget(text, parsed.value, {
          resolve: async () => [...dns],
          localOnly: true,
        }).then(
          (s) => {
            s.destroy();
            return "connected";
          },
          (e: unknown) => (e instanceof StreamRefusedError ? e.code : `unexpected ${String(e)}`),
        );
        while (result === "connected" && accepted === before) await new Promise((r) => setImmediate(r));
        const expected = loopbackAllowed(rules) ? "connected" : "NOT_ALLOWED";
        expect(result).toBe(expected);
        expect(accepted - before).toBe(expected === "connected" ? 1 : 0);
      }),
      { numRuns: 200 },
    );
  });
});
