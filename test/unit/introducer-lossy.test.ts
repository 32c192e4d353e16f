import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hostCandidate, SimNet, seeded } from "./introducer-fixtures.js";

/**
 * Registration and introduction over a lossy, duplicating, reordering network. Whatever the
 * network does, each request ends in exactly one outcome, nothing is announced twice, and when
 * both peers heard of the introduction in time they start punching at the same instant.
 */
describe("introducer over a lossy network", () => {
  it("always reaches one outcome per request, and coinciding start instants when both got it in time", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.nat(),
          loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
          dup: fc.double({ min: 0, max: 0.2, noNaN: true }),
          jitter: fc.integer({ min: 0, max: 50 }),
          joeLatency: fc.integer({ min: 1, max: 600 }),
          bobLatency: fc.integer({ min: 1, max: 600 }),
        }),
        (p) => {
          const net = new SimNet();
          net.rng = seeded(p.seed);
          net.lossRate = p.loss;
          net.duplicateRate = p.dup;
          net.jitterMs = p.jitter;
          net.add({
            name: "joe",
            publicEndpoint: { host: "198.51.100.7", port: 40001 },
            latencyMs: p.joeLatency,
          });
          net.add({
            name: "bob",
            publicEndpoint: { host: "203.0.113.9", port: 50002 },
            latencyMs: p.bobLatency,
            lan: [hostCandidate("192.168.1.20", 4000)],
          });
          net.start("joe");
          net.start("bob");
          // Both register eventually (loss may cost a `lost` and a backoff of up to 30 s), and the
          // introducer learns both RTTs (until then it times introductions with a default RTT).
          const bothRegistered = () =>
            net.node("joe").client.status().registered &&
            net.node("bob").client.status().registered &&
            net.core.stats(net.now).registered.filter((r) => r.rttMs !== undefined).length === 2;
          for (let waited = 0; waited < 10 * 60_000 && !bothRegistered(); waited += 1000) net.runFor(1000);
          expect(bothRegistered()).toBe(true);

          net.introduce("joe", "bob");
          net.runFor(30_000);
          const joeIntro = net.eventsOf("joe", "introduction");
          const joeRefused = net.eventsOf("joe", "refused");
          expect(joeIntro.length + joeRefused.length).toBe(1);
          const bobIntro = net.eventsOf("bob", "introduction");
          expect(bobIntro.length).toBeLessThanOrEqual(1);
          if (joeIntro.length === 1) expect(bobIntro).toHaveLength(1); // bob agreed before joe heard
          if (joeRefused.length === 1)
            expect(joeRefused[0].out).toMatchObject({
              code: expect.stringMatching(/PEER_UNREACHABLE|NO_ANSWER/),
            });

          const [j] = joeIntro;
          const [b] = bobIntro;
          if (j?.out.type === "introduction" && b?.out.type === "introduction") {
            // bob follows a later T from a repeat (its ACK was lost or late): its puncher starts
            // then, or probes again from then if it had started on an earlier copy.
            let bobStart = b.out.startAt;
            for (const r of net.eventsOf("bob", "retimed"))
              if (r.out.type === "retimed") bobStart = r.out.startAt;
            const inTime = j.out.startAt > j.at && bobStart > b.at;
            // Jitter delays each packet by 0..J ms: a side's flight time and its RTT/2 estimate
            // both lie in [L, L+J], so each side may be off by ±J, the two by 2J (+1 rounding).
            if (inTime) expect(Math.abs(j.out.startAt - bobStart)).toBeLessThanOrEqual(2 * p.jitter + 1);
          }
          const c = net.core.counters();
          expect(c.pendingIntroductions).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("with no loss, introduces every time", () => {
    const net = new SimNet();
    net.add({ name: "joe", publicEndpoint: { host: "198.51.100.7", port: 40001 }, latencyMs: 30 });
    net.add({ name: "bob", publicEndpoint: { host: "203.0.113.9", port: 50002 }, latencyMs: 70 });
    net.duplicateRate = 0.5;
    net.jitterMs = 20;
    net.start("joe");
    net.start("bob");
    net.runFor(20_000);
    for (let i = 0; i < 5; i++) {
      net.introduce("joe", "bob");
      net.runFor(10_000);
    }
    expect(net.eventsOf("joe", "introduction")).toHaveLength(5);
    expect(net.eventsOf("bob", "introduction")).toHaveLength(5);
    expect(net.core.counters().replayed).toBeGreaterThan(0); // duplicates were dropped as replays
  });
});
