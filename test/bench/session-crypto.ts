/**
 * Micro-benchmark of the session hot path: SessionManager.send on one side and .handle on the
 * other (encrypt + decrypt + replay window + routing), one core, payload MB/s. For scale it also
 * measures bare Node ChaCha20-Poly1305 seal+open of the same sizes: the gap is the session's cost.
 * Run: npx tsx test/bench/session-crypto.ts
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { type SessionAction, SessionManager } from "../../src/crypto/noise/session-manager.js";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { joinDatagram } from "../../src/wire/datagram.js";

const A = { host: "198.51.100.1", port: 1000 };
const B = { host: "203.0.113.2", port: 2000 };

/** Delivers `actions` between the two managers until nothing is left to send (at time `now`). */
function pump(
  actions: SessionAction[],
  to: SessionManager,
  from: typeof A,
  back: SessionManager,
  backFrom: typeof A,
  now: number,
): void {
  for (const x of actions)
    if (x.type === "send") pump(to.handle(joinDatagram(x.packet), from, now), back, backFrom, to, from, now);
}

function establishedPair() {
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const a = new SessionManager({ privateKey: ka.privateKey, peers: [kb.publicKey], now: 0 });
  const b = new SessionManager({ privateKey: kb.privateKey, peers: [ka.publicKey], now: 0 });
  pump(a.connect(kb.publicKey, B, 0), b, A, a, B, 0);
  if (!a.isEstablished(kb.publicKey) || !b.isEstablished(ka.publicKey)) throw new Error("no session");
  return { a, b, bId: kb.publicKey.toString("base64") };
}

function bench(size: number, seconds = 1.5): number {
  const { a, b, bId } = establishedPair();
  const payload = Buffer.alloc(size, 0x5a);
  let bytes = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 200; i++) {
      const [s] = a.send(bId, payload, 1);
      if (s.type !== "send") throw new Error("expected a packet");
      // The kernel gathers the pieces into one datagram; the receiver gets one Buffer.
      const [d] = b.handle(joinDatagram(s.packet), A, 1);
      if (d?.type !== "deliver") throw new Error("not delivered");
      bytes += d.payload.length;
    }
  }
  return bytes / 1e6 / ((performance.now() - start) / 1000);
}

/** Bare createCipheriv/createDecipheriv round trips: the floor the session cannot go below. */
function baseline(size: number, seconds = 1.5): number {
  const key = randomBytes(32);
  const nonce = Buffer.alloc(12);
  const payload = Buffer.alloc(size, 0x5a);
  const opts = { authTagLength: 16 } as const;
  let bytes = 0;
  const start = performance.now();
  while (performance.now() < start + seconds * 1000) {
    for (let i = 0; i < 200; i++) {
      const c = createCipheriv("chacha20-poly1305", key, nonce, opts);
      const body = c.update(payload);
      c.final();
      const d = createDecipheriv("chacha20-poly1305", key, nonce, opts);
      d.setAuthTag(c.getAuthTag());
      bytes += d.update(body).length;
      d.final();
    }
  }
  return bytes / 1e6 / ((performance.now() - start) / 1000);
}

for (const size of [1200, 16 * 1024, 64000]) {
  bench(size, 0.3); // warm-up
  baseline(size, 0.3);
  const mbps = bench(size);
  const raw = baseline(size);
  const kpps = (mbps * 1e6) / size / 1000;
  console.log(
    `encrypt+decrypt ${String(size).padStart(5)} B: session ${mbps.toFixed(1)} MB/s (${kpps.toFixed(1)} kpkt/s), bare AEAD ${raw.toFixed(1)} MB/s`,
  );
}

{
  // Full handshakes between two running managers: INIT, RESPONSE, confirming DATA (8 X25519).
  const { a, b, bId } = establishedPair();
  let n = 0;
  let now = 0;
  const start = performance.now();
  while (performance.now() < start + 1500) {
    now += 100; // virtual time, past the per-peer INIT spacing
    pump(a.connect(bId, B, now), b, A, a, B, now);
    n++;
  }
  if (a.counters.initFlood + b.counters.initFlood > 0) throw new Error("benchmark tripped the INIT limit");
  const perSecond = n / ((performance.now() - start) / 1000);
  console.log(`handshakes: ${perSecond.toFixed(0)}/s, ${(1000 / perSecond).toFixed(2)} ms each`);
}
