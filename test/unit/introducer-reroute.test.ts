import { describe, expect, it } from "vitest";
import { INTRO_REGISTRATION_WAIT_MS, INTRO_RETRY_MS } from "../../src/introducer/constants.js";
import { SimNet } from "./introducer-fixtures.js";

/** joe (25 ms from the introducer) and bob (30 ms), both configured, neither started yet. */
function joeAndBob(): SimNet {
  const net = new SimNet();
  net.add({ name: "joe", publicEndpoint: { host: "198.51.100.7", port: 40001 }, latencyMs: 25 });
  net.add({ name: "bob", publicEndpoint: { host: "203.0.113.9", port: 50002 }, latencyMs: 30 });
  return net;
}

/** The first INTRODUCTION joe and bob each got, asserted to exist and to carry the same T (±1 ms). */
function firstIntroductions(net: SimNet): {
  j: { at: number; startAt: number };
  b: { at: number; startAt: number };
} {
  const [b] = net.eventsOf("bob", "introduction");
  const [j] = net.eventsOf("joe", "introduction");
  expect(j?.out.type).toBe("introduction");
  expect(b?.out.type).toBe("introduction");
  if (b.out.type !== "introduction" || j.out.type !== "introduction") throw new Error("no introduction");
  expect(Math.abs(j.out.startAt - b.out.startAt)).toBeLessThanOrEqual(1);
  return { j: { at: j.at, startAt: j.out.startAt }, b: { at: b.at, startAt: b.out.startAt } };
}

/**
 * A target that restarted behind a new port while an introduction to it was being repeated to
 * its old endpoint (the NAT lab's rounds: joe asks while the previous bob's registration is still
 * held). Its new registration reroutes the introduction at once; the start instant it carries
 * must leave the target room for a lost ACK to be repaired by a repeat before it starts, since a
 * repeat that moves T after the target started would start the two sides at different moments.
 */
describe("introduction rerouted to a restarted target", () => {
  for (const waitMs of [200, 600, 1000, 1400, 1800, 3000, 5000]) {
    it(`gives the target a full lead when it registers ${waitMs} ms into the introduction`, () => {
      const net = joeAndBob();
      net.start("joe");
      net.start("bob");
      net.runFor(5_000);
      net.restart("bob", { host: "203.0.113.9", port: 50999 });
      net.introduce("joe", "bob");
      net.runFor(waitMs);
      net.start("bob");
      net.runFor(5_000);

      const { b } = firstIntroductions(net);
      expect(b.startAt - b.at).toBeGreaterThan(INTRO_RETRY_MS);
      expect(net.eventsOf("bob", "retimed")).toHaveLength(0);
    });
  }
});

/**
 * Two daemons started together: joe asks for bob before bob's daemon has registered. The
 * introduction waits for bob and starts the moment he registers, instead of joe being refused
 * and asking again after his retry backoff.
 */
describe("introduction to a peer that registers a little later", () => {
  for (const laterMs of [100, 1500, 4000]) {
    it(`starts as soon as the target registers (${laterMs} ms after the request)`, () => {
      const net = joeAndBob();
      net.start("joe");
      net.runFor(2_000);
      net.introduce("joe", "bob");
      net.runFor(laterMs);
      expect(net.eventsOf("joe", "refused")).toEqual([]);
      const registeredAt = net.now;
      net.start("bob");
      net.runFor(3_000);
      const { j } = firstIntroductions(net);
      // bob's REGISTER, the INTRODUCTION to him, his ACK, the one to joe: a few one-way trips.
      expect(j.at - registeredAt).toBeLessThan(300);
      expect(net.eventsOf("joe", "refused")).toEqual([]);
    });
  }

  it(`refuses PEER_NOT_REGISTERED after ${INTRO_REGISTRATION_WAIT_MS} ms without a registration`, () => {
    const net = joeAndBob();
    net.start("joe");
    net.runFor(2_000);
    net.introduce("joe", "bob");
    net.runFor(INTRO_REGISTRATION_WAIT_MS - 200);
    expect(net.eventsOf("joe", "refused")).toEqual([]);
    net.runFor(400);
    expect(net.eventsOf("joe", "refused").map((e) => e.out)).toMatchObject([{ code: "PEER_NOT_REGISTERED" }]);
    expect(net.core.counters().pendingIntroductions).toBe(0);
  });
});
