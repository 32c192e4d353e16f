/**
 * Issue 6, "Surviving": the introducer goes away.
 * - An established tunnel keeps carrying data while the introducer is down (the daemons notice
 *   it is gone), and both daemons register again once it is back (backoff with jitter; the time
 *   is printed).
 * - Several introducers in `introducers:`: with the first one down from the start, joe and bob
 *   register with the second, are introduced through it and connect.
 */
import { afterAll, expect, it } from "vitest";
import type { DaemonStatus } from "../../src/daemon/status-types.js";
import { describeNatlab, failOnLeftoverNamespaces, useLab } from "./lab.js";
import { connected, expectedDigest, P2pWorld, registered, useP2pWorld } from "./p2p-world.js";
import {
  addSecondIntroducer,
  SECOND_INTRODUCER_IP,
  startConnected,
  watchPeer,
} from "./resilience-helpers.js";

failOnLeftoverNamespaces();

const SMALL = 1024 * 1024;
const notRegistered = (s: DaemonStatus) => s.introducers.every((i) => !i.registered);

describeNatlab("resilience: the introducer goes away and comes back", () => {
  const ctx = useLab({ a: { nat: "eim" }, b: { nat: "eim-drop" } });
  const env = useP2pWorld(ctx);

  it("the tunnel keeps working without it; both daemons re-register when it returns", async () => {
    const { w } = env;
    const { joe } = await startConnected(w);
    const endpoint = joe.peers[0]!.endpoint;
    const watch = watchPeer(() => w.joe(), 1000);
    await w.stop("introducer");
    // At once, and again once both daemons have noticed the introducer is gone.
    expect((await w.sendThroughForward(SMALL)).reply).toBe(expectedDigest(SMALL));
    const t0 = performance.now();
    await Promise.all([w.waitJoe(notRegistered, 40_000), w.waitBob(notRegistered, 40_000)]);
    const noticed = performance.now() - t0;
    const r = await w.sendThroughForward(SMALL);
    expect(r.reply, r.error).toBe(expectedDigest(SMALL));

    const t1 = performance.now();
    w.startIntroducer();
    // REGISTER retries back off to 30 s (±10 %): allow one full backoff step and some.
    await Promise.all([w.waitJoe(registered, 45_000), w.waitBob(registered, 45_000)]);
    const back = performance.now() - t1;
    const seen = await watch.stop();
    expect([...seen.states]).toEqual(["connected"]);
    expect([...seen.endpoints]).toEqual([endpoint]);
    expect((await w.sendThroughForward(SMALL)).reply).toBe(expectedDigest(SMALL));
    console.log(
      `[natlab] introducer down: transfers kept working, daemons noticed after ${(noticed / 1000).toFixed(1)} s; ` +
        `introducer back: both re-registered after ${(back / 1000).toFixed(1)} s`,
    );
  }, 180_000);
});

describeNatlab("resilience: two introducers, the first down from the start", () => {
  const ctx = useLab({ a: { nat: "eim-drop" }, b: { nat: "eim" } });
  let w: P2pWorld;
  afterAll(async () => {
    await w?.destroy();
  });

  it("joe and bob register with the second, are introduced through it, and connect", async () => {
    w = new P2pWorld(ctx.lab);
    const second = await addSecondIntroducer(w);
    second.start();
    w.startTarget("digest");
    const viaSecond = (s: DaemonStatus) =>
      s.introducers.length === 2 && !s.introducers[0]!.registered && s.introducers[1]!.registered;
    w.startBob();
    await w.waitBob(viaSecond);
    const t0 = performance.now();
    w.startJoe();
    await w.waitJoe(viaSecond);
    const joe = await w.waitJoe(connected, 30_000);
    await w.waitBob(connected, 30_000);
    const took = performance.now() - t0;
    expect(joe.introducers[1]!.address).toBe(`${SECOND_INTRODUCER_IP}:2345`);
    expect(joe.peers[0]!.path).toBe("udp");
    const r = await w.sendThroughForward(SMALL);
    expect(r.reply, r.error).toBe(expectedDigest(SMALL));
    // Then the first one comes up: both daemons register with it too (and stay connected).
    w.startIntroducer();
    await Promise.all([w.waitJoe(registered, 45_000), w.waitBob(registered, 45_000)]);
    expect((await w.joe())?.peers[0]?.state).toBe("connected");
    console.log(
      `[natlab] two introducers, first down: registered via the second and connected ${(took / 1000).toFixed(1)} s after joe started`,
    );
  }, 150_000);
});
