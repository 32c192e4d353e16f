/**
 * Netcheck PROBE/PROBED (src/netcheck/wire.ts, probe-client.ts, responder.ts): the introducer
 * answers an authenticated probe with the source it saw, never with more bytes than it got, and
 * answers nothing to forgeries, replays, unknown keys or junk. Decoders are total (fuzzed).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/crypto/keys.js";
import { NetcheckProbeClient } from "../../src/netcheck/probe-client.js";
import { NetcheckResponder } from "../../src/netcheck/responder.js";
import { decodeProbe, decodeProbed, encodeProbe, encodeProbed } from "../../src/netcheck/wire.js";

const introducer = generateKeyPair();
const peer = generateKeyPair();
const stranger = generateKeyPair();
const FROM = { host: "203.0.113.2", port: 40000 };

function setup() {
  const responder = new NetcheckResponder(
    introducer.privateKey,
    introducer.publicKey,
    [{ publicKey: peer.publicKey }],
    Date.now(),
  );
  const client = new NetcheckProbeClient(peer.privateKey, introducer.publicKey, Date.now());
  return { responder, client };
}

describe("netcheck probes", () => {
  it("a probe from a known key is answered with the observed endpoint and its txid", () => {
    const { responder, client } = setup();
    const probe = client.probe(1234);
    const answer = responder.handle(probe, FROM);
    expect(answer).not.toBeNull();
    expect(answer!.length).toBeLessThanOrEqual(probe.length);
    expect(client.open(answer!)).toEqual({ txid: 1234, observed: FROM });
    expect(responder.counters).toMatchObject({ probes: 1, answered: 1 });
  });

  it("IPv6 sources are answered too, still no larger than the probe", () => {
    const { responder, client } = setup();
    const probe = client.probe(7);
    const answer = responder.handle(probe, { host: "2001:db8::1", port: 5 });
    expect(answer!.length).toBeLessThanOrEqual(probe.length);
    expect(client.open(answer!)).toEqual({ txid: 7, observed: { host: "2001:db8::1", port: 5 } });
  });

  it("replays, unknown keys, tampering and junk are dropped and counted", () => {
    const { responder, client } = setup();
    const probe = client.probe(1);
    expect(responder.handle(probe, FROM)).not.toBeNull();
    expect(responder.handle(probe, FROM)).toBeNull();
    expect(responder.counters.replayed).toBe(1);

    const strangerClient = new NetcheckProbeClient(stranger.privateKey, introducer.publicKey, Date.now());
    expect(responder.handle(strangerClient.probe(2), FROM)).toBeNull();
    expect(responder.counters.unauthenticated).toBe(1);

    const tampered = Buffer.from(client.probe(3));
    tampered[tampered.length - 1] ^= 1;
    expect(responder.handle(tampered, FROM)).toBeNull();
    expect(responder.counters.unauthenticated).toBe(2);

    expect(responder.handle(Buffer.from([0x07, 1, 2]), FROM)).toBeNull();
    expect(responder.counters.malformed).toBe(1);
    expect(responder.counters.answered).toBe(1);
  });

  it("the client ignores answers sealed by another key, and its own probes", () => {
    const { responder, client } = setup();
    const fake = new NetcheckResponder(
      stranger.privateKey,
      stranger.publicKey,
      [{ publicKey: peer.publicKey }],
      Date.now(),
    );
    // An answer sealed by another introducer key (to a client that pinned that key).
    const toFake = new NetcheckProbeClient(peer.privateKey, stranger.publicKey, Date.now());
    const fakeAnswer = fake.handle(toFake.probe(5), FROM);
    expect(toFake.open(fakeAnswer!)).toMatchObject({ txid: 5 });
    expect(client.open(fakeAnswer!)).toBeNull();
    expect(client.open(client.probe(6))).toBeNull();
    expect(client.open(responder.handle(client.probe(8), FROM)!)).toMatchObject({ txid: 8 });
  });

  it("decoders are total and round-trip", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes);
        decodeProbe(b);
        decodeProbed(b);
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.integer({ min: 0, max: 65535 }),
        (txid, port) => {
          expect(decodeProbe(encodeProbe(txid))).toBe(txid);
          expect(decodeProbed(encodeProbed({ txid, observed: { host: "198.51.100.7", port } }))).toEqual({
            txid,
            observed: { host: "198.51.100.7", port },
          });
        },
      ),
    );
    expect(decodeProbe(encodeProbe(0))).toBeNull();
    const padded = encodeProbe(9);
    padded[10] = 1;
    expect(decodeProbe(padded)).toBeNull();
  });
});
