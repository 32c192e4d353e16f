import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { CANDIDATE_KINDS, type Candidate } from "../../src/wire/candidate.js";
import {
  decodeIntroducerMessage,
  encodeIntroducerMessage,
  type IntroducerMessage,
  IntroducerPacketType,
  MAX_LAN_CANDIDATES,
  openIntroducerPacket,
  packetTypeOf,
  parseIntroducerPacket,
  REFUSAL_CODES,
  sealIntroducerPacket,
  truncateUtf8,
} from "../../src/wire/introducer.js";
import { introducerKeys, keys } from "./introducer-fixtures.js";

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
/** IPv6 in canonical text form (as the decoder prints it); IPv4-mapped ones decode as IPv4. */
const ipv6 = fc
  .ipV6()
  .map((s) => new URL(`http://[${s}]/`).hostname.slice(1, -1))
  .filter((s) => !s.startsWith("::ffff:"));
const endpoint = fc.record({ host: fc.oneof(ipv4, ipv6), port: fc.nat(65535) });
const hostCand: fc.Arbitrary<Candidate> = endpoint.map((e) => ({ kind: "host", endpoint: e }));
const anyCand: fc.Arbitrary<Candidate> = fc.record({
  kind: fc.constantFrom(...CANDIDATE_KINDS),
  endpoint,
});
const u32 = fc.nat(0xffffffff);
const name = fc.string({ minLength: 1, maxLength: 20 });
const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));

const message: fc.Arbitrary<IntroducerMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant("register" as const),
      txid: u32,
      name,
      lanCandidates: fc.array(hostCand, { maxLength: MAX_LAN_CANDIDATES }),
      tcpLocalPort: fc.integer({ min: 1, max: 65535 }),
      rttMs: fc.nat(65534),
    },
    { requiredKeys: ["type", "txid", "name", "lanCandidates"] },
  ),
  fc.record({
    type: fc.constant("registered" as const),
    txid: u32,
    observed: endpoint,
    refreshSeconds: fc.integer({ min: 1, max: 65535 }),
  }),
  fc.record({ type: fc.constant("introduce" as const), txid: u32, peerName: name }),
  fc.record({
    type: fc.constant("introduction" as const),
    txid: u32,
    introId: u32,
    peerName: name,
    peerPublicKey: key,
    candidates: fc.array(anyCand, { maxLength: 18 }),
    startInMs: fc.nat(65535),
    timing: fc.nat(255),
  }),
  fc.record({
    type: fc.constant("introductionAck" as const),
    introId: u32,
    accepted: fc.boolean(),
    timing: fc.nat(255),
  }),
  fc.record({
    type: fc.constant("refused" as const),
    txid: u32,
    code: fc.constantFrom(...REFUSAL_CODES),
    reason: fc.string({ maxLength: 100 }),
  }),
);

function boxes() {
  const daemon = new StaticBox(
    keys.joe.privateKey,
    keys.joe.publicKey,
    introducerKeys.publicKey,
    "introducer",
    0,
  );
  const intro = new StaticBox(
    introducerKeys.privateKey,
    introducerKeys.publicKey,
    keys.joe.publicKey,
    "introducer",
    0,
  );
  return { daemon, intro };
}

describe("introducer message codec", () => {
  it("round-trips every message", () => {
    fc.assert(
      fc.property(message, (msg) => {
        const decoded = decodeIntroducerMessage(packetTypeOf(msg), encodeIntroducerMessage(msg));
        expect(decoded).toEqual(msg);
      }),
    );
  });

  it("never throws on random bodies for any type", () => {
    fc.assert(
      fc.property(fc.nat(255), fc.uint8Array({ maxLength: 300 }), (type, body) => {
        const m = decodeIntroducerMessage(type, Buffer.from(body));
        if (type < 1 || type > 6) expect(m).toBeNull();
      }),
      { numRuns: 3000 },
    );
  });

  it("rejects every strict prefix and every extension of a valid body", () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ minLength: 1, maxLength: 8 }), (msg, extra) => {
        const body = encodeIntroducerMessage(msg);
        const type = packetTypeOf(msg);
        for (let n = 0; n < body.length; n++)
          expect(decodeIntroducerMessage(type, body.subarray(0, n))).toBeNull();
        expect(decodeIntroducerMessage(type, Buffer.concat([body, extra]))).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it("decodes bit-flipped bodies to null or to some message, never throwing", () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.nat(7), (msg, at, bit) => {
        const body = Buffer.from(encodeIntroducerMessage(msg));
        body[at % body.length] ^= 1 << bit;
        const m = decodeIntroducerMessage(packetTypeOf(msg), body);
        if (m !== null) expect(m.type).toBe(msg.type);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads only the txid and version of a REGISTER of another protocol version", () => {
    const body = encodeIntroducerMessage({
      type: "register",
      txid: 9,
      version: 7,
      name: "joe",
      lanCandidates: [],
    });
    // Whatever follows the version is not read: a later version may lay it out differently.
    const extended = Buffer.concat([body, Buffer.from([1, 2, 3])]);
    for (const b of [body, extended, body.subarray(0, 5)])
      expect(decodeIntroducerMessage(IntroducerPacketType.REGISTER, b)).toEqual({
        type: "register",
        txid: 9,
        version: 7,
        name: "",
        lanCandidates: [],
      });
    expect(decodeIntroducerMessage(IntroducerPacketType.REGISTER, body.subarray(0, 4))).toBeNull();
  });

  it("refuses REGISTER candidates that are not host candidates", () => {
    const body = encodeIntroducerMessage({
      type: "register",
      txid: 1,
      name: "joe",
      lanCandidates: [{ kind: "srflx", endpoint: { host: "192.0.2.1", port: 1 } }],
    });
    expect(decodeIntroducerMessage(IntroducerPacketType.REGISTER, body)).toBeNull();
  });

  it("refuses an empty name and an unknown ACK verdict; reads an unknown refusal code as OTHER", () => {
    const reg = encodeIntroducerMessage({ type: "introduce", txid: 7, peerName: "x" });
    reg[4] = 0; // name length 0, and one trailing byte left over
    expect(decodeIntroducerMessage(IntroducerPacketType.INTRODUCE, reg.subarray(0, 5))).toBeNull();
    const ack = encodeIntroducerMessage({ type: "introductionAck", introId: 1, accepted: true, timing: 0 });
    ack[4] = 2;
    expect(decodeIntroducerMessage(IntroducerPacketType.INTRODUCTION_ACK, ack)).toBeNull();
    const refused = encodeIntroducerMessage({ type: "refused", txid: 1, code: "BUSY", reason: "r" });
    refused[4] = 200;
    expect(decodeIntroducerMessage(IntroducerPacketType.REFUSED, refused)).toMatchObject({ code: "OTHER" });
  });

  it("cuts long reasons at a character boundary", () => {
    const reason = "é".repeat(150); // 300 bytes
    const msg = decodeIntroducerMessage(
      IntroducerPacketType.REFUSED,
      encodeIntroducerMessage({ type: "refused", txid: 1, code: "OTHER", reason }),
    );
    expect(msg).toMatchObject({ reason: "é".repeat(100) });
    expect(truncateUtf8("abc", 2)).toBe("ab");
  });
});

describe("introducer packet framing", () => {
  it("seals and opens every message, binding type and sender key", () => {
    fc.assert(
      fc.property(message, (msg) => {
        const { daemon, intro } = boxes();
        const packet = sealIntroducerPacket(daemon, keys.joe.publicKey, msg);
        const header = parseIntroducerPacket(packet)!;
        expect(header.type).toBe(packetTypeOf(msg));
        expect(header.senderKey.equals(keys.joe.publicKey)).toBe(true);
        expect(openIntroducerPacket(intro, header)).toEqual({ ok: true, msg });
      }),
      { numRuns: 200 },
    );
  });

  it("reports a changed type byte as unauthenticated (it is in the AD)", () => {
    const { daemon, intro } = boxes();
    const packet = sealIntroducerPacket(daemon, keys.joe.publicKey, {
      type: "introduce",
      txid: 1,
      peerName: "bob",
    });
    packet[0] = IntroducerPacketType.REGISTER;
    expect(openIntroducerPacket(intro, parseIntroducerPacket(packet)!)).toEqual({
      ok: false,
      why: "unauthenticated",
    });
  });

  it("never throws on random, truncated or bit-flipped packets", () => {
    const { daemon, intro } = boxes();
    const valid = sealIntroducerPacket(daemon, keys.joe.publicKey, {
      type: "introduce",
      txid: 1,
      peerName: "bob",
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 1600 }).map((a) => Buffer.from(a)),
          fc.nat(valid.length).map((n) => valid.subarray(0, n)),
          fc.tuple(fc.nat(valid.length - 1), fc.nat(7)).map(([at, bit]) => {
            const b = Buffer.from(valid);
            b[at] ^= 1 << bit;
            return b;
          }),
        ),
        (packet) => {
          const header = parseIntroducerPacket(packet);
          if (header === null) return;
          const res = openIntroducerPacket(intro, header);
          if (!packet.equals(valid)) expect(res.ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
