import { describe, expect, it } from "vitest";
import { INTRO_RETRY_MS } from "../../src/introducer/constants.js";
import { SimNet } from "./introducer-fixtures.js";

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
      const net = new SimNet();
      net.add({ name: "joe", publicEndpoint: { host: "198.51.100.7", port: 40001 }, latencyMs: 25 });
      net.add({ name: "bob", publicEndpoint: { host: "203.0.113.9", port: 50002 }, latencyMs: 30 });
      net.start("joe");
      net.start("bob");
      net.runFor(5_000);
      net.restart("bob", { host: "203.0.113.9", port: 50999 });
      net.introduce("joe", "bob");
      net.runFor(waitMs);
      net.start("bob");
      net.runFor(5_000);

      const [b] = net.eventsOf("bob", "introduction");
      const [j] = net.eventsOf("joe", "introduction");
      expect(b?.out.type).toBe("introduction");
      expect(j?.out.type).toBe("introduction");
      if (b.out.type !== "introduction" || j.out.type !== "introduction") return;
      expect(b.out.startAt - b.at).toBeGreaterThan(INTRO_RETRY_MS);
      expect(net.eventsOf("bob", "retimed")).toHaveLength(0);
      expect(Math.abs(j.out.startAt - b.out.startAt)).toBeLessThanOrEqual(1);
    });
  }
});
