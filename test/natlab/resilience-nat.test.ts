/**
 * Issue 6, "Surviving": the NAT loses its state or the peer moves.
 * - natA, then natB, reboots (`conntrack -F`) in the middle of a large forward transfer: the transfer
 *   completes byte-exact; the stall (flush → data flowing again) is printed.
 * - bob's public address changes (natB maps to other ports and forgets every flow): joe notices,
 *   the path is re-punched and forwards work again within seconds, joe never restarted.
 * - bob's daemon restarts (new process, new source port): the same, without restarting joe.
 * The flushes run with natA accepting unsolicited packets at its input (`eim`) and natB dropping
 * them; the moves between NATs that drop them (see the notes there).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeNatlab, failOnLeftoverNamespaces, useLab } from "./lab.js";
import { connected, expectedDigest, P2pWorld, registered } from "./p2p-world.js";
import {
  changeNatAddress,
  logLines,
  longestStall,
  sampleProgress,
  sleep,
  startConnected,
  transferUntilOk,
} from "./resilience-helpers.js";

failOnLeftoverNamespaces();

const BIG = Number(process.env.P2PTUN_FLUSH_MB ?? 64) * 1024 * 1024;
const SMALL = 256 * 1024;
/** Generous: the issue asks for "within seconds"; measured figures are printed. */
const HEAL_WITHIN_MS = 30_000;
/** bob's NAT's new public address (in side B's block, next to its first one, 203.0.113.66). */
const NEW_B_IP = "203.0.113.67";

describeNatlab("resilience: NAT state lost mid-transfer", () => {
  // joe sends the bulk data, so after natA's flush joe's next packet (not bob's ACK) is what
  // re-creates the mapping, on the same port. natB drops unsolicited inbound: joe's data that
  // arrives before bob's next ACK is dropped, not turned into an entry. (With an input-accepting
  // `eim` natB that data would leave an [UNREPLIED] entry that remaps bob's port, and from then on
  // each side's packets poison the other NAT: measured, the transfer then fails — see the note
  // on the peer-moved suite below.)
  const ctx = useLab({ a: { nat: "eim" }, b: { nat: "eim-drop" } });
  let w: P2pWorld;
  beforeAll(async () => {
    w = new P2pWorld(ctx.lab);
    await startConnected(w);
  });
  afterAll(async () => {
    await w?.destroy();
  });

  for (const side of ["a", "b"] as const)
    it(`a ${BIG >> 20} MB transfer survives conntrack -F on nat${side.toUpperCase()} mid-way, byte-exact`, async () => {
      const bytesIn = async () => (await w.bob())?.peers[0]?.bytesIn ?? null;
      const start = (await bytesIn()) ?? 0;
      const sampler = sampleProgress(bytesIn, 50);
      const transfer = w.sendThroughForward(BIG);
      // Flush once a quarter of the data went through.
      const deadline = Date.now() + 60_000;
      while (((await bytesIn()) ?? 0) - start < BIG / 4 && Date.now() < deadline) await sleep(20);
      const tFlush = performance.now();
      const wallFlush = Date.now();
      await ctx.lab.flushConntrack(side);
      const r = await transfer;
      const tEnd = performance.now();
      const samples = await sampler.stop();
      expect(r.reply, r.error).toBe(expectedDigest(BIG));

      const before = longestStall(samples, samples[0]?.t ?? tFlush, tFlush);
      // Data already past the NAT still arrives after the flush: the outage shows as the longest
      // stall in the seconds after it, to compare with the longest stall before it.
      const stall = longestStall(samples, tFlush, tEnd);
      const after = (name: string) =>
        logLines(w, name, /path lost|roamed|re-punch|introduced|link (died|replaced)|new address/)
          .filter((l) => l.time >= wallFlush)
          .map((l) => `${name}: +${l.time - wallFlush} ms ${l.msg}`);
      console.log(
        `[natlab] conntrack -F on nat${side.toUpperCase()} mid-transfer: ${BIG >> 20} MB byte-exact in ${((tEnd - tFlush) / 1000).toFixed(1)} s after the flush; ` +
          `recovery: bob's bytes in stalled at most ${stall.ms.toFixed(0)} ms after the flush ` +
          `(from +${(stall.start - tFlush).toFixed(0)} ms; longest stall before the flush ${before.ms.toFixed(0)} ms; sampled every 50 ms)\n${[...after("joe"), ...after("bob")].join("\n")}`,
      );
      await w.waitJoe(connected, HEAL_WITHIN_MS);
    }, 180_000);
});

describeNatlab("resilience: peer moved, peer restarted", () => {
  // NATs that drop unsolicited inbound (most routers). With the lab's `eim` kind, whose input
  // accepts it, a peer that moves keeps poisoning our NAT: each of its packets to our old mapping
  // refreshes an [UNREPLIED] entry from its new address, so our packets to that address are
  // remapped to another port and nothing gets through until the peer is quiet for one UDP timeout.
  const ctx = useLab({ a: { nat: "eim-drop" }, b: { nat: "eim-drop" } });
  let w: P2pWorld;
  let joePid: number | undefined;
  beforeAll(async () => {
    w = new P2pWorld(ctx.lab);
    await startConnected(w);
    joePid = w.pid("joe");
  });
  afterAll(async () => {
    await w?.destroy();
  });

  it("bob's public address changes: joe re-punches and forwards work again within seconds", async () => {
    const old = (await w.waitJoe(connected)).peers[0]!.endpoint!;
    const wall = Date.now();
    const t0 = performance.now();
    await changeNatAddress(ctx.lab, "b", NEW_B_IP);
    // The introducer learns bob's new mapping with bob's next refresh; joe must follow.
    const r = await transferUntilOk(w, SMALL, expectedDigest(SMALL), HEAL_WITHIN_MS);
    const joe = await w.waitJoe(
      (s) => connected(s) && s.peers[0]!.endpoint !== old,
      Math.max(1000, HEAL_WITHIN_MS - (performance.now() - t0)),
    );
    const healed = performance.now() - t0;
    expect(joe.peers[0]!.endpoint!.split(":")[0]).toBe(NEW_B_IP);
    expect(w.pid("joe")).toBe(joePid);
    const events = logLines(w, "joe", /path lost|roamed|introduced|new address|connected/)
      .filter((l) => l.time >= wall)
      .map((l) => `joe: +${l.time - wall} ms ${l.msg}`);
    console.log(
      `[natlab] bob's public address changed (${old} → ${joe.peers[0]!.endpoint}): a forward transfer works again after ` +
        `${(r.ms / 1000).toFixed(1)} s (${r.attempts} attempts), joe shows the new endpoint after ${(healed / 1000).toFixed(1)} s\n${events.join("\n")}`,
    );
    expect(r.ms).toBeLessThan(HEAL_WITHIN_MS);
  }, 120_000);

  it("bob's daemon restarts (new process, new port): forwards work again within seconds, joe untouched", async () => {
    const old = (await w.waitJoe(connected)).peers[0]!.endpoint!;
    await w.stop("bob");
    const wall = Date.now();
    const t0 = performance.now();
    w.startBob();
    await w.waitBob(registered);
    const tRegistered = performance.now() - t0;
    const r = await transferUntilOk(w, SMALL, expectedDigest(SMALL), HEAL_WITHIN_MS);
    const joe = await w.waitJoe((s) => connected(s) && s.peers[0]!.endpoint !== old, 5000);
    expect(w.pid("joe")).toBe(joePid);
    const events = logLines(w, "joe", /path lost|roamed|introduced|new address|connected|link/)
      .filter((l) => l.time >= wall)
      .map((l) => `joe: +${l.time - wall} ms ${l.msg}`);
    console.log(
      `[natlab] bob restarted (${old} → ${joe.peers[0]!.endpoint}): registered after ${(tRegistered / 1000).toFixed(1)} s, ` +
        `a forward transfer works again ${(r.ms / 1000).toFixed(1)} s after registration (${r.attempts} attempts: ${r.errors.join("; ")})\n${events.join("\n")}`,
    );
    expect(r.ms).toBeLessThan(HEAL_WITHIN_MS);
  }, 120_000);
});
