import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { generateKeyPair } from "../../src/crypto/keys.js";
import {
  DISCO_HEADER_LEN,
  DISCO_PING,
  DISCO_PING_MIN_SIZE,
  DISCO_PONG,
  decodeDiscoBody,
  encodeDiscoBody,
  openDisco,
  peekDisco,
  sealDisco,
} from "../../src/wire/disco.js";

const a = generateKeyPair();
const b = generateKeyPair();
const boxes = () => ({
  ab: new StaticBox(a.privateKey, a.publicKey, b.publicKey, "disco", 1_000),
  ba: new StaticBox(b.privateKey, b.publicKey, a.publicKey, "disco", 2_000),
});
const txid = Buffer.from("0102030405060708090a0b0c", "hex");

describe("disco body codec", () => {
  it("round-trips a ping and a pong with v4 and v6 observed endpoints", () => {
    const ping = { type: "ping" as const, txid, padding: 0 };
    expect(decodeDiscoBody(DISCO_PING, encodeDiscoBody(ping))).toEqual(ping);
    for (const host of ["203.0.113.7", "2001:db8::1"]) {
      const pong = { type: "pong" as const, txid, observed: { host, port: 41641 } };
      expect(decodeDiscoBody(DISCO_PONG, encodeDiscoBody(pong))).toEqual(pong);
    }
  });

  it("rejects short bodies, trailing bytes after a pong and unknown types", () => {
    expect(decodeDiscoBody(DISCO_PING, txid.subarray(0, 11))).toBeNull();
    const pong = encodeDiscoBody({ type: "pong", txid, observed: { host: "198.51.100.1", port: 1 } });
    expect(decodeDiscoBody(DISCO_PONG, Buffer.concat([pong, Buffer.of(0)]))).toBeNull();
    expect(decodeDiscoBody(DISCO_PONG, pong.subarray(0, pong.length - 1))).toBeNull();
    expect(decodeDiscoBody(0x20, pong)).toBeNull();
  });

  it("refuses to encode a txid of the wrong length (programming error)", () => {
    expect(() => encodeDiscoBody({ type: "ping", txid: Buffer.alloc(11), padding: 0 })).toThrow(RangeError);
  });
});

describe("sealed disco packets", () => {
  it("carries the type and sender key in the clear and opens at the peer", () => {
    const { ab, ba } = boxes();
    const pkt = sealDisco(ab, a.publicKey, { type: "pong", txid, observed: { host: "192.0.2.1", port: 9 } });
    expect(pkt[0]).toBe(DISCO_PONG);
    expect(peekDisco(pkt)?.senderPublic.equals(a.publicKey)).toBe(true);
    expect(openDisco(ba, pkt)).toEqual({ type: "pong", txid, observed: { host: "192.0.2.1", port: 9 } });
  });

  it("has the sizes PROTOCOL.md states: ping 69, pong 76 (IPv4) or 88 (IPv6) bytes", () => {
    const { ab } = boxes();
    const pong = (host: string) =>
      sealDisco(ab, a.publicKey, { type: "pong", txid, observed: { host, port: 1 } });
    expect(sealDisco(ab, a.publicKey, { type: "ping", txid, padding: 0 }).length).toBe(69);
    expect(pong("192.0.2.1").length).toBe(76);
    expect(pong("2001:db8::1").length).toBe(88);
  });

  it("pads a ping to the requested datagram size and reports the padding", () => {
    const { ab, ba } = boxes();
    const plain = sealDisco(ab, a.publicKey, { type: "ping", txid, padding: 0 });
    expect(plain.length).toBe(DISCO_PING_MIN_SIZE);
    const big = sealDisco(ab, a.publicKey, { type: "ping", txid, padding: 0 }, 1400);
    expect(big.length).toBe(1400);
    expect(openDisco(ba, big)).toEqual({ type: "ping", txid, padding: 1400 - DISCO_PING_MIN_SIZE });
  });

  it("drops a replayed packet, a changed header and a third party's packet", () => {
    const { ab, ba } = boxes();
    const pkt = sealDisco(ab, a.publicKey, { type: "ping", txid, padding: 0 });
    expect(openDisco(ba, pkt)).not.toBeNull();
    expect(openDisco(ba, pkt)).toBeNull(); // replay
    const retyped = sealDisco(ab, a.publicKey, { type: "ping", txid, padding: 0 });
    retyped[0] = DISCO_PONG; // the type byte is authenticated data
    expect(openDisco(ba, retyped)).toBeNull();
    const c = generateKeyPair();
    const cb = new StaticBox(c.privateKey, c.publicKey, b.publicKey, "disco");
    const forged = sealDisco(cb, a.publicKey, { type: "ping", txid, padding: 0 }); // claims to be a
    expect(openDisco(ba, forged)).toBeNull();
  });

  it("never throws on random bytes and never opens them", () => {
    const { ba } = boxes();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 255 }), (raw, type) => {
        const bytes = Buffer.from(raw);
        expect(decodeDiscoBody(type, bytes) === null || type === DISCO_PING || type === DISCO_PONG).toBe(
          true,
        );
        if (bytes.length > 0) bytes[0] = type;
        expect(openDisco(ba, bytes)).toBeNull();
      }),
    );
  });

  it("never throws on truncated or bit-flipped real packets, and none of them opens", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.boolean(),
        (isPing, cut, at, bit, truncate) => {
          const { ab, ba } = boxes();
          const msg = isPing
            ? ({ type: "ping", txid, padding: 0 } as const)
            : ({ type: "pong", txid, observed: { host: "2001:db8::5", port: 7 } } as const);
          const pkt = sealDisco(ab, a.publicKey, msg);
          const bad = truncate ? pkt.subarray(0, cut % pkt.length) : Buffer.from(pkt);
          if (!truncate) bad[at % bad.length] ^= 1 << bit;
          expect(openDisco(ba, bad)).toBeNull();
          expect(() => peekDisco(bad)).not.toThrow();
        },
      ),
    );
  });

  it("decodes any well-formed body it is given inside a valid seal", () => {
    // Bodies are authenticated, but a buggy or hostile peer could still send junk inside the seal.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (raw, ping) => {
        const { ab, ba } = boxes();
        const header = Buffer.alloc(DISCO_HEADER_LEN);
        header[0] = ping ? DISCO_PING : DISCO_PONG;
        a.publicKey.copy(header, 1);
        const pkt = Buffer.concat([header, ab.seal(header, raw)]);
        const got = openDisco(ba, pkt);
        expect(got).toEqual(decodeDiscoBody(header[0], Buffer.from(raw)));
        if (ping) expect(got === null).toBe(raw.length < 12);
      }),
    );
  });
});
