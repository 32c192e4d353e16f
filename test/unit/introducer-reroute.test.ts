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

/**
 * Both daemons restart over TCP (the NAT lab's TCP rounds): joe's old daemon asked for bob just
 * before stopping, so an introduction for the pair is still in progress, with joe's dead
 * connection as its route, when the new joe registers and asks with a new txid. The new request
 * replaces the old one: answering it with the old introduction (whose copy, rerouted to the new
 * joe under the old txid, the new client declines) left the new joe without an answer for 20 s.
 */
describe("both peers restart over TCP while an introduction of theirs is in progress", () => {
  for (const joeLaterMs of [50, 545, 1500, 3000]) {
    it(`introduces the new daemons when joe's registers ${joeLaterMs} ms after bob's`, () => {
      const net = new SimNet();
      const spec = (name: "joe" | "bob", port: number) => ({
        name,
        publicEndpoint: { host: name === "joe" ? "203.0.113.2" : "203.0.113.66", port },
        latencyMs: 2,
        tcp: true,
        introduceOnRegistered: [name === "joe" ? "bob" : "joe"],
      });
      net.add(spec("joe", 32919));
      net.add(spec("bob", 37755));
      net.start("bob");
      net.runFor(800);
      net.start("joe");
      net.runFor(5_000);
      net.introduce("joe", "bob"); // joe's link closed as bob stopped: it asks again, then stops
      net.stop("bob");
      net.runFor(3);
      net.stop("joe");
      net.runFor(565);
      net.restart("bob", { host: "203.0.113.66", port: 33495 });
      net.start("bob");
      net.runFor(joeLaterMs);
      net.restart("joe", { host: "203.0.113.2", port: 44627 });
      net.start("joe");
      const joeStarted = net.now;
      net.runFor(3_000);

      const [j] = net.eventsOf("joe", "introduction");
      expect(j?.at - joeStarted).toBeLessThan(100);
      const b = net.eventsOf("bob", "introduction").at(-1);
      if (j?.out.type !== "introduction" || b?.out.type !== "introduction")
        throw new Error("no introduction");
      expect(b.out.introId).toBe(j.out.introId);
      expect(b.out.candidates).toContainEqual({
        kind: "tcp",
        endpoint: { host: "203.0.113.2", port: 44627 },
      });
      expect(Math.abs(j.out.startAt - b.out.startAt)).toBeLessThanOrEqual(1);
      expect(net.eventsOf("joe", "refused")).toEqual([]);
    });
  }
});
