import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type HandshakeAction, SocksHandshake } from "../../src/tunnel/socks/handshake.js";
import { decodeGreeting, decodeRequest, decodeUserPass } from "../../src/tunnel/socks/messages.js";

const bytes = (...b: number[]) => Uint8Array.from(b);
const GREET_NOAUTH = bytes(5, 1, 0);
const GREET_BOTH = bytes(5, 2, 0, 2);
const connectV4 = (a: number[], port: number, cmd = 1) => bytes(5, cmd, 0, 1, ...a, port >> 8, port & 0xff);
const connectName = (name: string, port: number) =>
  bytes(5, 1, 0, 3, name.length, ...Buffer.from(name, "latin1"), port >> 8, port & 0xff);
const userPass = (u: string, p: string) => bytes(1, u.length, ...Buffer.from(u), p.length, ...Buffer.from(p));

/** Feeds the chunks and returns the actions with sent bytes as plain arrays, for readable asserts. */
function run(h: SocksHandshake, ...chunks: Uint8Array[]): unknown[] {
  return chunks.flatMap((c) => h.feed(c)).map(show);
}
function show(a: HandshakeAction): unknown {
  if (a.type === "send") return ["send", Array.from(a.data)];
  if (a.type === "connect") return ["connect", a.target, Array.from(a.earlyData)];
  return ["close"];
}
const reply = (code: number) => ["send", [5, code, 0, 1, 0, 0, 0, 0, 0, 0]];

describe("SocksHandshake (no auth)", () => {
  it("CONNECT to IPv4", () => {
    const h = new SocksHandshake();
    expect(run(h, GREET_NOAUTH, connectV4([10, 0, 0, 1], 22))).toEqual([
      ["send", [5, 0]],
      ["connect", "10.0.0.1:22", []],
    ]);
    expect(h.state).toBe("connecting");
    expect(Array.from(h.succeeded())).toEqual([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(h.state).toBe("done");
  });

  it("CONNECT to IPv6, domain, and a domain holding an IP literal", () => {
    const v6 = bytes(5, 1, 0, 4, ...new Array(15).fill(0), 1, 0, 80);
    expect(run(new SocksHandshake(), GREET_NOAUTH, v6)[1]).toEqual(["connect", "[::1]:80", []]);
    expect(run(new SocksHandshake(), GREET_NOAUTH, connectName("example.lan", 443))[1]).toEqual([
      "connect",
      "example.lan:443",
      [],
    ]);
    expect(run(new SocksHandshake(), GREET_NOAUTH, connectName("::1", 22))[1]).toEqual([
      "connect",
      "[::1]:22",
      [],
    ]);
  });

  it("accepts greeting, request and early data in one chunk, and keeps the early data", () => {
    const all = Buffer.concat([GREET_NOAUTH, connectV4([1, 2, 3, 4], 80), Buffer.from("GET /")]);
    expect(run(new SocksHandshake(), all)).toEqual([
      ["send", [5, 0]],
      ["connect", "1.2.3.4:80", Array.from(Buffer.from("GET /"))],
    ]);
  });

  it("answers BIND and UDP ASSOCIATE with 0x07, an unknown command too", () => {
    for (const cmd of [2, 3, 9]) {
      const h = new SocksHandshake();
      expect(run(h, GREET_NOAUTH, connectV4([1, 2, 3, 4], 80, cmd))).toEqual([
        ["send", [5, 0]],
        reply(7),
        ["close"],
      ]);
      expect(h.state).toBe("closed");
    }
  });

  it("answers an unknown address type with 0x08", () => {
    expect(run(new SocksHandshake(), GREET_NOAUTH, bytes(5, 1, 0, 7, 1, 2))).toEqual([
      ["send", [5, 0]],
      reply(8),
      ["close"],
    ]);
  });

  it.each([
    ["bad request version", bytes(4, 1, 0, 1, 1, 2, 3, 4, 0, 80)],
    ["port 0", connectV4([1, 2, 3, 4], 0)],
    ["a domain that is not a host name", connectName("a b:c", 80)],
    ["an empty domain", bytes(5, 1, 0, 3, 0, 0, 80)],
  ])("answers %s with general failure", (_, request) => {
    expect(run(new SocksHandshake(), GREET_NOAUTH, request)).toEqual([["send", [5, 0]], reply(1), ["close"]]);
  });

  it("refuses a client that does not offer no-auth, and a non-SOCKS5 greeting, with 0xFF", () => {
    expect(run(new SocksHandshake(), bytes(5, 1, 2))).toEqual([["send", [5, 0xff]], ["close"]]);
    expect(run(new SocksHandshake(), bytes(5, 0))).toEqual([["send", [5, 0xff]], ["close"]]);
    expect(run(new SocksHandshake(), bytes(4, 1, 0, 80))).toEqual([["send", [5, 0xff]], ["close"]]);
  });

  it("maps refusals to RFC 1928 reply codes", () => {
    const cases = [
      ["NOT_ALLOWED", 2],
      ["CONNECTION_REFUSED", 5],
      ["HOST_UNREACHABLE", 4],
      ["NAME_NOT_RESOLVED", 4],
      ["NETWORK_UNREACHABLE", 3],
      ["TIMEOUT", 6],
      ["PEER_NOT_CONNECTED", 3],
      ["INTERNAL", 1],
      ["BAD_TARGET", 1],
    ] as const;
    for (const [code, rep] of cases) {
      const h = new SocksHandshake();
      run(h, GREET_NOAUTH, connectV4([1, 2, 3, 4], 80));
      expect(Array.from(h.refused(code))[1]).toBe(rep);
      expect(h.state).toBe("closed");
    }
  });

  it("ignores bytes fed after it asked to connect or close", () => {
    const h = new SocksHandshake();
    run(h, GREET_NOAUTH, connectV4([1, 2, 3, 4], 80));
    expect(h.feed(bytes(1, 2, 3))).toEqual([]);
  });
});

describe("SocksHandshake (username/password)", () => {
  const creds = { username: "joe", password: "s3cret" };

  it("selects method 2 and accepts the right password", () => {
    const h = new SocksHandshake(creds);
    expect(run(h, GREET_BOTH, userPass("joe", "s3cret"), connectV4([127, 0, 0, 1], 22))).toEqual([
      ["send", [5, 2]],
      ["send", [1, 0]],
      ["connect", "127.0.0.1:22", []],
    ]);
  });

  it.each([
    ["wrong password", userPass("joe", "s3creT")],
    ["wrong user", userPass("bob", "s3cret")],
    ["empty fields", userPass("", "")],
    ["a password that extends the right one", userPass("joe", "s3cret!")],
    ["bad sub-negotiation version", bytes(5, 3, 106, 111, 101, 0)],
  ])("rejects %s with status 1 and closes", (_, auth) => {
    const h = new SocksHandshake(creds);
    expect(run(h, GREET_BOTH, auth)).toEqual([["send", [5, 2]], ["send", [1, 1]], ["close"]]);
  });

  it("refuses with 0xFF when the client offers only no-auth", () => {
    expect(run(new SocksHandshake(creds), GREET_NOAUTH)).toEqual([["send", [5, 0xff]], ["close"]]);
  });
});

describe("SocksHandshake (property)", () => {
  const creds = { username: "user", password: "pass" };
  const valid = Buffer.concat([
    GREET_BOTH,
    userPass("user", "pass"),
    connectName("svc.test", 8080),
    Buffer.from("hi"),
  ]);

  /** Splits `data` at the given cut points (as fractions of its length). */
  const chunked = (data: Uint8Array, cuts: number[]) => {
    const points = [...new Set(cuts.map((c) => Math.floor(c * data.length)))].sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let at = 0;
    for (const p of [...points, data.length]) {
      out.push(data.subarray(at, p));
      at = p;
    }
    return out;
  };

  it("gives the same result for any chunking of a valid handshake", () => {
    const handshakeOnly = valid.subarray(0, valid.length - 2);
    const expected = run(new SocksHandshake(creds), handshakeOnly);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), (cuts) => {
        expect(run(new SocksHandshake(creds), ...chunked(handshakeOnly, cuts))).toEqual(expected);
        // With early data, the connect carries what arrived in its chunk; the rest stays unread
        // (the adapter stops reading at connect, so it is spliced later, in order).
        const h = new SocksHandshake(creds);
        const all = chunked(valid, cuts).flatMap((c) => h.feed(c));
        const connect = all.find((a) => a.type === "connect");
        expect(
          connect?.type === "connect" && "hi".startsWith(Buffer.from(connect.earlyData).toString()),
        ).toBe(true);
      }),
    );
  });

  it("any truncation of a valid handshake waits for more bytes and never closes", () => {
    const requestEnd = valid.length - 2; // "hi" is early data
    for (let n = 0; n <= requestEnd; n++) {
      const h = new SocksHandshake(creds);
      const kinds = h.feed(valid.subarray(0, n)).map((a) => a.type);
      expect(kinds.includes("close")).toBe(false);
      expect(kinds.includes("connect")).toBe(n === requestEnd);
    }
  });

  it("never throws on random bytes; ends with at most one connect or close, and then stays quiet", () => {
    const prefix = fc.constantFrom(new Uint8Array(0), GREET_NOAUTH, bytes(5), bytes(5, 1, 0, 5, 1));
    fc.assert(
      fc.property(
        fc.boolean(),
        prefix,
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
        (auth, p, chunks) => {
          const h = new SocksHandshake(auth ? creds : undefined);
          const actions = [p, ...chunks].flatMap((c) => h.feed(c));
          const ends = actions.filter((a) => a.type !== "send");
          expect(ends.length).toBeLessThanOrEqual(1);
          if (ends.length === 1) expect(actions.at(-1)).toBe(ends[0]);
          if (ends[0]?.type === "connect") expect(h.state).toBe("connecting");
          if (ends[0]?.type === "close") expect(h.state).toBe("closed");
          for (const a of actions) if (a.type === "send") expect(a.data.length).toBeLessThanOrEqual(10);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("decoders are total on random bytes and never claim more bytes than given", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (buf) => {
        for (const d of [decodeGreeting(buf), decodeUserPass(buf), decodeRequest(buf)]) {
          if (d.status === "ok") expect(d.size).toBeLessThanOrEqual(buf.length);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("a decoded request target always parses back as host:port", async () => {
    const { parseHostPort } = await import("../../src/util/addr.js");
    fc.assert(
      fc.property(fc.constantFrom(1, 3, 4), fc.uint8Array({ minLength: 0, maxLength: 40 }), (atyp, rest) => {
        const d = decodeRequest(Uint8Array.from([5, 1, 0, atyp, ...rest]));
        if (d.status === "ok") expect(parseHostPort(d.target).ok).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
