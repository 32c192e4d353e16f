/**
 * Keypair.prepare makes the cipher of the next packet each way ahead of time. Whatever the order
 * of seals, opens and prepares, every packet must be exactly what sealing without preparation
 * gives (a prepared cipher used for another counter would reuse a nonce), and every genuine packet
 * must open while forgeries do not, including a forgery that uses up the prepared decipher.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Keypair, type KeypairInit } from "../../src/crypto/noise/keypair.js";
import { joinDatagram } from "../../src/wire/datagram.js";
import { readDataCounter } from "../../src/wire/session.js";

function pair(): { sender: KeypairInit; receiver: KeypairInit } {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const common = { createdAt: 0, rekeyAt: 1e9, expiresAt: 2e9, replayWindow: 2048 };
  return {
    sender: { ...common, localIndex: 1, remoteIndex: 2, sendKey: k1, recvKey: k2, initiator: true },
    receiver: { ...common, localIndex: 2, remoteIndex: 1, sendKey: k2, recvKey: k1, initiator: false },
  };
}

/** Keypair copies its inputs by reference: give each instance its own key buffers. */
function keypair(init: KeypairInit): Keypair {
  return new Keypair(null, {
    ...init,
    sendKey: Buffer.from(init.sendKey),
    recvKey: Buffer.from(init.recvKey),
  });
}

const sendOps = fc.array(
  fc.oneof(
    fc.nat({ max: 300 }).map((len) => ({ op: "seal" as const, len })),
    fc.constant({ op: "prepare" as const, len: 0 }),
  ),
  { maxLength: 60 },
);

describe("Keypair: ciphers prepared ahead of time", () => {
  it("seals byte-for-byte like an unprepared keypair, whatever the order of seals and prepares", () => {
    fc.assert(
      fc.property(sendOps, (ops) => {
        const { sender } = pair();
        const prepared = keypair(sender);
        const plain = keypair(sender);
        for (const { op, len } of ops) {
          if (op === "prepare") {
            prepared.prepare();
            continue;
          }
          const payload = randomBytes(len);
          expect(joinDatagram(prepared.seal(payload)).equals(joinDatagram(plain.seal(payload)))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("opens every genuine packet and no forgery, in any order, with prepares in between", () => {
    const arrival = fc.array(
      fc.record({ index: fc.nat({ max: 29 }), forge: fc.boolean(), prepare: fc.boolean() }),
      { maxLength: 80 },
    );
    fc.assert(
      fc.property(arrival, (events) => {
        const { sender, receiver } = pair();
        const tx = keypair(sender);
        const rx = keypair(receiver);
        const payloads = Array.from({ length: 30 }, (_, i) => randomBytes(i * 7));
        const packets = payloads.map((p) => joinDatagram(tx.seal(p)));
        for (const { index, forge, prepare } of events) {
          if (prepare) rx.prepare();
          const packet = Buffer.from(packets[index]);
          if (forge) packet[packet.length - 1] ^= 1;
          const counter = readDataCounter(packet);
          const out = rx.open(packet, counter);
          if (forge) {
            expect(out).toBeNull();
          } else {
            expect(out?.equals(payloads[index])).toBe(true);
            rx.commit(counter);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a forgery with the expected counter uses up the prepared decipher; the genuine packet still opens", () => {
    const { sender, receiver } = pair();
    const tx = keypair(sender);
    const rx = keypair(receiver);
    const payload = Buffer.from("hello");
    const packet = joinDatagram(tx.seal(payload));
    rx.prepare();
    const forged = Buffer.from(packet);
    forged[forged.length - 3] ^= 0x40;
    expect(rx.open(forged, 0)).toBeNull();
    expect(rx.open(packet, 0)?.toString()).toBe("hello");
  });
});
