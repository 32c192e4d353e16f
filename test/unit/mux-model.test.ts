/**
 * Model-based property test of two mux cores talking to each other: random interleavings of
 * opens, accepts, writes, half-closes, resets, reader consumption and partial, randomly split
 * delivery. Two correct peers must never see a protocol error, every byte must arrive intact and
 * in order, and once everything is delivered every cleanly finished stream is complete.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RESET } from "../../src/tunnel/mux/codes.js";
import { MuxCore } from "../../src/tunnel/mux/core.js";

type Side = 0 | 1;

/** One direction of one stream, as the model sees it. */
interface Flow {
  written: number;
  finished: boolean;
  received: number;
  consumed: number;
  finReceived: boolean;
}

interface ModelStream {
  id: number;
  opener: Side;
  accepted: boolean;
  reset: boolean;
  /** flows[s]: bytes sent by side s. */
  flows: [Flow, Flow];
}

/** The byte at `offset` of the data side `from` sends on stream `id`. */
function patternByte(id: number, from: Side, offset: number): number {
  return (id * 31 + from * 101 + offset * 7) & 0xff;
}

function pattern(id: number, from: Side, offset: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = patternByte(id, from, offset + i);
  return b;
}

const side = fc.constantFrom<Side>(0, 1);
const op = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("open" as const),
      side,
      answer: fc.constantFrom("accept", "refuse", "later"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("accept" as const), pick: fc.nat() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      pick: fc.nat(),
      side,
      n: fc.integer({ min: 1, max: 70_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("finish" as const), pick: fc.nat(), side }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset" as const), pick: fc.nat(), side }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("consume" as const),
      pick: fc.nat(),
      side,
      n: fc.nat({ max: 300_000 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("deliver" as const),
      side,
      max: fc.integer({ min: 1, max: 200_000 }),
      cuts: fc.array(fc.nat(), { maxLength: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 50 }) }),
  },
);

class World {
  now = 0;
  cores: [MuxCore, MuxCore];
  streams = new Map<number, ModelStream>();
  /** Streams the accepting side has seen as incoming and not yet answered. */
  incoming: number[] = [];

  constructor() {
    this.cores = [
      new MuxCore({ initiator: true, keepaliveIntervalMs: 0, maxFrameSize: 4096 }, 0),
      new MuxCore({ initiator: false, keepaliveIntervalMs: 0 }, 0),
    ];
  }

  private live(pick: number, filter: (s: ModelStream) => boolean): ModelStream | undefined {
    const list = [...this.streams.values()].filter((s) => !s.reset && filter(s));
    return list.length ? list[pick % list.length] : undefined;
  }

  /** Opens a stream and delivers the OPEN (with whatever else is queued); then maybe answers. */
  open(side: Side, answer: "accept" | "refuse" | "later"): void {
    const core = this.cores[side];
    if (core.openRefusal()) return;
    const id = core.open(`t:${this.streams.size}`, this.now);
    const flow = (): Flow => ({ written: 0, finished: false, received: 0, consumed: 0, finReceived: false });
    this.streams.set(id, { id, opener: side, accepted: false, reset: false, flows: [flow(), flow()] });
    this.deliver(side, Number.POSITIVE_INFINITY, []);
    if (answer === "later" || !this.incoming.includes(id)) return;
    this.incoming.splice(this.incoming.indexOf(id), 1);
    const s = this.streams.get(id)!;
    if (answer === "accept") {
      this.cores[(1 - side) as Side].accept(id);
      s.accepted = true;
    } else {
      this.cores[(1 - side) as Side].reset(id, RESET.CONNECTION_REFUSED, "model refusal");
      s.reset = true;
    }
  }

  accept(pick: number): void {
    if (this.incoming.length === 0) return;
    const [id] = this.incoming.splice(pick % this.incoming.length, 1);
    const s = this.streams.get(id)!;
    if (s.reset) return;
    this.cores[(1 - s.opener) as Side].accept(id);
    s.accepted = true; // the accepter may send at once; the opener once ACCEPT arrives
  }

  write(pick: number, side: Side, n: number): void {
    const s = this.live(pick, (x) => x.accepted && !x.flows[side].finished);
    if (!s) return;
    const f = s.flows[side];
    this.cores[side].write(s.id, pattern(s.id, side, f.written, n));
    f.written += n;
  }

  finish(pick: number, side: Side): void {
    const s = this.live(pick, (x) => x.accepted && !x.flows[side].finished);
    if (!s) return;
    s.flows[side].finished = true;
    this.cores[side].finish(s.id);
  }

  reset(pick: number, side: Side): void {
    const s = this.live(pick, (x) => x.accepted);
    if (!s) return;
    s.reset = true;
    this.cores[side].reset(s.id, RESET.CANCELLED, "model reset");
  }

  consume(pick: number, side: Side, n: number): void {
    // `side` is the reader: it consumes what the other side sent.
    const from = (1 - side) as Side;
    const s = this.live(pick, (x) => x.flows[from].received > x.flows[from].consumed);
    if (!s) return;
    const f = s.flows[from];
    const k = Math.min(n, f.received - f.consumed);
    f.consumed += k;
    this.cores[side].consumed(s.id, k, this.now);
  }

  deliver(side: Side, max: number, cuts: number[]): void {
    const out: Buffer[] = [];
    this.cores[side].pull(max, out);
    const bytes = Buffer.concat(out);
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    let prev = 0;
    for (const p of [...points, bytes.length]) {
      this.receive((1 - side) as Side, bytes.subarray(prev, p));
      prev = p;
    }
  }

  private receive(side: Side, chunk: Buffer): void {
    const core = this.cores[side];
    core.receive(chunk, this.now);
    const from = (1 - side) as Side;
    for (let e = core.pollEvent(); e; e = core.pollEvent()) {
      const s = e.type === "closed" ? undefined : this.streams.get(e.id);
      switch (e.type) {
        case "incoming":
          expect(s?.opener).toBe(from);
          this.incoming.push(e.id);
          break;
        case "accepted":
          expect(s?.accepted).toBe(true);
          break;
        case "data": {
          const f = s!.flows[from];
          for (let i = 0; i < e.data.length; i++) {
            if (e.data[i] !== patternByte(e.id, from, f.received + i)) {
              throw new Error(`stream ${e.id}: wrong byte at offset ${f.received + i}`);
            }
          }
          f.received += e.data.length;
          expect(f.received).toBeLessThanOrEqual(f.written);
          break;
        }
        case "fin":
          s!.flows[from].finReceived = true;
          expect(s!.flows[from].received).toBe(s!.flows[from].written);
          break;
        case "reset":
          s!.reset = true;
          break;
        case "closed":
          throw new Error(`session closed: ${e.reason}`);
      }
    }
  }

  /** Delivers and consumes everything until both cores are idle. */
  settle(): void {
    for (let round = 0; round < 10_000; round++) {
      for (const s of this.streams.values()) {
        if (s.reset) continue;
        for (const reader of [0, 1] as Side[]) {
          const f = s.flows[(1 - reader) as Side];
          if (f.received > f.consumed) this.consume(0, reader, Number.MAX_SAFE_INTEGER);
        }
      }
      if (!this.cores[0].hasOutput() && !this.cores[1].hasOutput() && !this.unconsumed()) return;
      this.deliver(0, Number.POSITIVE_INFINITY, []);
      this.deliver(1, Number.POSITIVE_INFINITY, []);
      this.consumeAll();
    }
    throw new Error("did not settle");
  }

  private unconsumed(): boolean {
    for (const s of this.streams.values()) {
      if (s.reset) continue;
      if (s.flows.some((f) => f.received > f.consumed)) return true;
    }
    return false;
  }

  private consumeAll(): void {
    for (const s of this.streams.values()) {
      if (s.reset) continue;
      for (const reader of [0, 1] as Side[]) {
        const f = s.flows[(1 - reader) as Side];
        if (f.received > f.consumed) {
          this.cores[reader].consumed(s.id, f.received - f.consumed, this.now);
          f.consumed = f.received;
        }
      }
    }
  }
}

describe("mux core model", () => {
  it("two cores agree under random operations and random delivery", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 30, maxLength: 120 }), (ops) => {
        const w = new World();
        for (const o of ops) {
          switch (o.kind) {
            case "open":
              w.open(o.side, o.answer);
              break;
            case "accept":
              w.accept(o.pick);
              break;
            case "write":
              w.write(o.pick, o.side, o.n);
              break;
            case "finish":
              w.finish(o.pick, o.side);
              break;
            case "reset":
              w.reset(o.pick, o.side);
              break;
            case "consume":
              w.consume(o.pick, o.side, o.n);
              break;
            case "deliver":
              w.deliver(o.side, o.max, o.cuts);
              break;
            case "tick":
              w.now += o.ms;
              break;
          }
        }
        w.settle();
        for (const c of w.cores) {
          expect(c.counters.protocolErrors).toBe(0);
          expect(c.isClosed).toBe(false);
        }
        for (const s of w.streams.values()) {
          if (s.reset || !s.accepted) continue;
          for (const f of s.flows) {
            // Everything written arrived; a FIN arrived exactly when one was sent.
            expect(f.received).toBe(f.written);
            expect(f.finReceived).toBe(f.finished);
          }
        }
        // Streams finished both ways, or reset, are forgotten by both cores.
        const live = [...w.streams.values()].filter(
          (s) => !s.reset && !(s.flows[0].finished && s.flows[1].finished),
        ).length;
        expect(w.cores[0].streamCount).toBe(live);
        expect(w.cores[1].streamCount).toBe(live);
      }),
      { numRuns: 200 },
    );
  });
});
