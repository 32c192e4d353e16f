/**
 * `npm run bench:introducer`: how many peers one introducer holds and how many introductions it
 * makes per second on one core, with the memory each registered peer costs.
 *
 * The sans-I/O IntroducerCore is driven directly (no sockets: the kernel's UDP cost is not the
 * introducer's) by real IntroducerClients, each with its own key and its own source address, so
 * every packet is sealed, authenticated and replay-checked as on the network. Only the time spent
 * inside the core is counted. Baseline measured in the same run: one ChaCha20-Poly1305 open plus
 * one seal of a registration-sized packet, the cryptographic floor of handling a packet.
 *
 * Run with `--expose-gc` (the npm script does) so the memory figure is a heap difference after
 * collection, not allocator noise. PEERS env sets the count (default 20000).
 */
import { performance } from "node:perf_hooks";
import { aeadOpen, aeadSeal, generateKeyPair } from "../../src/crypto/primitives.js";
import { IntroducerClient, type IntroducerClientOutput } from "../../src/daemon/introducer-client.js";
import { type IntroducerAction, IntroducerCore } from "../../src/introducer/core.js";
import type { Source } from "../../src/introducer/registry.js";

const PEERS = Number(process.env.PEERS ?? 20_000);
const WALL = Date.now();
const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const introducer = generateKeyPair();
const keys = Array.from({ length: PEERS }, () => generateKeyPair());
const names = keys.map((_, i) => `peer${i}`);
const byKey = new Map(keys.map((k, i) => [k.publicKey.toString("hex"), names[i]]));
const sources: Source[] = keys.map((_, i) => ({
  endpoint: { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 40000 },
  transport: "udp",
}));
const clients = keys.map(
  (k, i) =>
    new IntroducerClient({
      name: names[i],
      privateKey: k.privateKey,
      introducerPublicKey: introducer.publicKey,
      lanCandidates: [{ kind: "host", endpoint: { host: "192.168.1.20", port: 41641 } }],
      accepts: (pk) => byKey.get(pk.toString("hex")) ?? null,
      wallClockMs: WALL,
      random: () => 0.5,
    }),
);

const heapBeforeCore = heapUsed();
const core = new IntroducerCore({
  privateKey: introducer.privateKey,
  peers: keys.map((k, i) => ({ name: names[i], publicKey: k.publicKey })),
  wallClockMs: WALL,
});
const heapConfigured = heapUsed();

let coreMs = 0;
let now = 1_000;
const index = new Map(sources.map((s, i) => [s.endpoint.host, i]));

/** Feeds one client's outputs to the core and the core's answers back, until quiet. */
function pump(from: number, outs: IntroducerClientOutput[]): void {
  const queue: Array<[number, IntroducerClientOutput[]]> = [[from, outs]];
  while (queue.length > 0) {
    const [i, list] = queue.shift()!;
    for (const o of list) {
      if (o.type !== "send") continue;
      const t0 = performance.now();
      const actions: IntroducerAction[] = core.handle(o.packet, sources[i], now);
      coreMs += performance.now() - t0;
      for (const a of actions) {
        const j = index.get(a.to.host)!;
        queue.push([j, clients[j].handle(a.packet, now)]);
      }
    }
  }
}

// ── registrations (first: the core derives each peer's box; then refreshes) ────────────────────
coreMs = 0;
for (let i = 0; i < PEERS; i++) pump(i, clients[i].start(now));
const registerMs = coreMs;
const registered = core.counters().registrations;
const heapRegistered = heapUsed();

now += 2_000; // the clients report their first RTT at once: a refresh each
coreMs = 0;
for (let i = 0; i < PEERS; i++) pump(i, clients[i].tick(now));
const refreshMs = coreMs;

// ── introductions: peer 2k asks for 2k+1; the target accepts; both ACK ──────────────────────────
now += 1_000;
coreMs = 0;
const pairs = Math.floor(PEERS / 2);
for (let k = 0; k < pairs; k++) pump(2 * k, clients[2 * k].introduce(names[2 * k + 1], now));
const introduceMs = coreMs;
const introduced = core.counters().introductionsCompleted;

// ── baseline: AEAD open + seal of a REGISTER-sized packet ───────────────────────────────────────
const key = Buffer.alloc(32, 7);
const body = Buffer.alloc(120, 1);
const ad = Buffer.alloc(40, 2);
const sealed = aeadSeal(key, 1, ad, body);
const N = 50_000;
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  aeadOpen(key, 1, ad, sealed);
  aeadSeal(key, i, ad, body);
}
const aeadUs = ((performance.now() - t0) * 1000) / N;

const us = (ms: number, n: number) => (ms * 1000) / n;
const rows: Array<[string, string, string]> = [
  ["peers configured and registered", `${registered} of ${PEERS}`, ""],
  ["memory per configured peer", `${((heapConfigured - heapBeforeCore) / PEERS).toFixed(0)} B`, ""],
  [
    "memory per registered peer (incl. its box)",
    `${((heapRegistered - heapBeforeCore) / PEERS).toFixed(0)} B`,
    `${((heapRegistered - heapBeforeCore) / 2 ** 20).toFixed(1)} MiB for all`,
  ],
  [
    "first registration (core time)",
    `${us(registerMs, PEERS).toFixed(1)} µs`,
    `${((PEERS / registerMs) * 1000).toFixed(0)}/s, ${(us(registerMs, PEERS) / aeadUs).toFixed(1)}× AEAD`,
  ],
  [
    "refresh registration (core time)",
    `${us(refreshMs, PEERS).toFixed(1)} µs`,
    `${((PEERS / refreshMs) * 1000).toFixed(0)}/s, ${(us(refreshMs, PEERS) / aeadUs).toFixed(1)}× AEAD`,
  ],
  [
    "introduction (INTRODUCE + 2 INTRODUCTIONs + 2 ACKs, core time)",
    `${us(introduceMs, pairs).toFixed(1)} µs`,
    `${((pairs / introduceMs) * 1000).toFixed(0)} introductions/s on one core`,
  ],
  ["baseline: AEAD open + seal of the same size", `${aeadUs.toFixed(2)} µs`, ""],
];
console.log(
  `introducer scale, ${PEERS} peers, node ${process.version}${gc ? "" : " (no --expose-gc: memory is rough)"}`,
);
const w = Math.max(...rows.map((r) => r[0].length));
for (const [a, b, c] of rows) console.log(`  ${a.padEnd(w)}  ${b.padStart(14)}  ${c}`);
if (registered !== PEERS) throw new Error(`only ${registered} of ${PEERS} registered`);
if (introduced !== pairs) throw new Error(`only ${introduced} of ${pairs} introductions completed`);
