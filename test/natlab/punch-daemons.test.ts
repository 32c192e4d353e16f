/**
 * Real p2ptun daemons punching UDP through real Linux NATs (issue 3). For every NAT pair both
 * daemons must report `connected` over `udp`, ten times in a row, with the peer's public (or
 * LAN) address as the endpoint and no peer-to-peer packet ever reaching the introducer's host.
 * The time from the second daemon's registration to both being connected is printed (median),
 * not asserted: speed belongs to measurements, not to tests.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeNatlab, failOnLeftoverNamespaces, type NatKind, useLab, waitUntil } from "./lab.js";
import { connected, expectedDigest, P2pWorld, registered } from "./p2p-world.js";

failOnLeftoverNamespaces();

const ROUNDS = Number(process.env.P2PTUN_PUNCH_ROUNDS ?? 10);
// A round (two daemon starts, waiting out the previous bob's stale registration, a transfer in
// round 0, two stops) takes 2-7 s on a loaded 2-core machine; ten exceed the default 60 s.
const ROUNDS_TIMEOUT = { timeout: ROUNDS * 15_000 };

interface Scenario {
  name: string;
  a: NatKind;
  b: NatKind;
  sameNat?: boolean;
}

const scenarios: Scenario[] = [
  { name: "one side public", a: "eim", b: "public" },
  {
    name: "both behind home-router NATs whose input accepts unsolicited packets (remap race)",
    a: "eim",
    b: "eim",
  },
  { name: "both behind NATs that drop unsolicited inbound", a: "eim-drop", b: "eim-drop" },
  { name: "a rejecting NAT and a home-router NAT", a: "eim-reject", b: "eim" },
  { name: "both behind the same NAT (LAN candidates)", a: "eim", b: "eim", sameNat: true },
];

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

for (const sc of scenarios) {
  describeNatlab(`UDP punch: ${sc.name}`, () => {
    const ctx = useLab({ a: { nat: sc.a }, b: { nat: sc.b }, sameNat: sc.sameNat });
    let w: P2pWorld;
    beforeAll(() => {
      w = new P2pWorld(ctx.lab);
      w.startIntroducer();
      w.startTarget("digest");
    });
    afterAll(async () => {
      await w?.destroy();
    });

    const title = `connects over udp ${ROUNDS} times in a row, never through the introducer`;
    it(title, ROUNDS_TIMEOUT, async () => {
      const times: number[] = [];
      const expectedBobHost = sc.sameNat
        ? ctx.lab.b.ip
        : sc.b === "public"
          ? ctx.lab.b.ip
          : ctx.lab.natPublicIp("b");
      for (let round = 0; round < ROUNDS; round++) {
        w.startJoe();
        await w.waitJoe(registered);
        w.startBob();
        await w.waitBob(registered);
        const t0 = performance.now();
        const joe = await w.waitJoe(connected);
        const bob = await w.waitBob(connected);
        times.push(performance.now() - t0);
        expect(joe.peers[0].path).toBe("udp");
        expect(bob.peers[0].path).toBe("udp");
        expect(joe.peers[0].endpoint?.split(":")[0]).toBe(expectedBobHost);
        if (round === 0) {
          // The tunnel carries data, byte-exact, to the service on bob's host.
          const r = await w.sendThroughForward(1024 * 1024);
          expect(r.reply).toBe(expectedDigest(1024 * 1024));
        }
        await Promise.all([w.stop("joe"), w.stop("bob")]);
      }
      const counters = await ctx.lab.introducerCounters();
      expect(counters.udpProbe.packets).toBe(0);
      expect(counters.udpSession.packets).toBe(0);
      expect(counters.udpIntroducer.packets).toBeGreaterThan(0);
      console.log(
        `[natlab] ${sc.name}: ${ROUNDS}/${ROUNDS} connected over udp; from 2nd registration to both connected: ` +
          `median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`,
      );
    });
  });
}

describeNatlab("UDP punch: symmetric NAT on one side", () => {
  const ctx = useLab({ a: { nat: "symmetric" }, b: { nat: "eim-drop" } });
  let w: P2pWorld;
  afterAll(async () => {
    await w?.destroy();
  });

  it("fails cleanly: status failed, a reason naming the NAT, and a log line with the cause", async () => {
    w = new P2pWorld(ctx.lab);
    w.startIntroducer();
    w.startBob();
    await w.waitBob(registered);
    w.startJoe();
    const joe = await w.waitJoe((s) => s.peers[0]?.state === "failed", 30_000);
    expect(joe.peers[0].path).toBeNull();
    expect(joe.peers[0].reason).toMatch(/symmetric NAT/);
    // The daemon sets the state before its log line reaches the file (pino writes it
    // asynchronously): wait a moment for the line, then check it.
    const cause = /punch failed: .*symmetric NAT/;
    await waitUntil(async () => cause.test(w.log("joe")), "the punch failure log line", 5_000).catch(
      () => {}, // the assertion below reports what the log holds
    );
    const log = w.log("joe");
    expect(
      log,
      log
        .split("\n")
        .filter((l) => l.includes("punch"))
        .join("\n"),
    ).toMatch(cause);
  });
});
