/**
 * The TCP simultaneous-open fallback with real daemons (issue 5): both NATs drop every UDP packet
 * from their LAN (and unsolicited inbound, as a router firewall does), so the daemons register
 * with the introducer over TCP and punch TCP to each other at the introduction's instant.
 *
 * Asserted: both peers report `connected` over `tcp` with the other's public address, within 5 s
 * of the second registration (the issue's bound), P2PTUN_TCP_ROUNDS times in a row (default 10);
 * a 50 MB byte-exact transfer through joe's forward; curl through joe's SOCKS endpoint fetches a
 * page from bob's host; ssh through a second forward runs a command in bob's namespace (when
 * OpenSSH is installed); `p2ptun status` says why the path is TCP and `p2ptun ping` answers via tcp;
 * no UDP ever crossed the core or reached the introducer, and no tunnel byte went through the
 * introducer (its host sees only the two registration connections' packets).
 *
 * Then joe restarts while bob stays up: they meet over tcp again.
 *
 * Two more scenarios check the adoption decision: UDP blocked on one NAT only (both peers must
 * see that UDP cannot work and use TCP at once), and UDP reaching the introducer but no UDP punch
 * getting through (TCP, punched next to UDP and held, is used once the UDP budget is spent).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { DaemonStatus } from "../../src/daemon/status-types.js";
import { CLI } from "../../src/demo/processes.js";
import { describeNatlab, failOnLeftoverNamespaces, useLab } from "./lab.js";
import { connected, expectedDigest, P2pWorld, registered, TARGET_PORT, useP2pWorld } from "./p2p-world.js";
import { SshServer, sshUnavailable } from "./ssh-fixture.js";

failOnLeftoverNamespaces();

const ROUNDS = Number(process.env.P2PTUN_TCP_ROUNDS ?? 10);
/** The bound, from both registered to both connected. */
const CONNECT_BOUND_MS = 5_000;
const BIG = 50 * 1024 * 1024;
const SMALL = 1024 * 1024;
/** joe's second forward, to a real sshd on bob's host (when OpenSSH is installed). */
const SSH_FORWARD = { host: "127.0.0.1", port: 2201 };
const SSH_TARGET = "127.0.0.1:22";
const noSsh = sshUnavailable();
/** joe's SOCKS endpoint, and a web server on bob's host that only SOCKS clients reach. */
const SOCKS_LISTEN = "127.0.0.1:1080";
const WEB = "127.0.0.1:8080";

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

describeNatlab("TCP fallback: UDP dropped on both NATs", () => {
  const ctx = useLab({ a: { nat: "udp-blocked-drop" }, b: { nat: "udp-blocked-drop" } });
  let w: P2pWorld;
  let sshd: SshServer | undefined;
  beforeAll(async () => {
    if (noSsh) console.warn(`[natlab] TCP fallback: skipping the ssh check: ${noSsh}`);
    else sshd = await SshServer.start(ctx.lab.b, { host: "127.0.0.1", port: 22 });
    w = new P2pWorld(ctx.lab, {
      extraForwards: [{ listen: `${SSH_FORWARD.host}:${SSH_FORWARD.port}`, connect: SSH_TARGET }],
      socksListen: SOCKS_LISTEN,
      bobAllows: [`127.0.0.1:${TARGET_PORT}`, SSH_TARGET, WEB],
    });
    w.startIntroducer();
    w.startTarget("digest");
    writeFileSync(join(w.dir, "page.txt"), "served on bob's host\n");
    ctx.lab.b.spawn(["python3", "-m", "http.server", "8080", "--bind", "127.0.0.1", "--directory", w.dir], {
      stdio: "ignore",
    });
  });
  afterAll(async () => {
    await w?.destroy();
    await sshd?.stop();
  });
  // A test that fails midway must not leave its daemons running into the next one (which would
  // then fail on "another p2ptun daemon is already running here" instead of on its own merits).
  afterEach(async () => {
    await Promise.all([w?.stop("joe"), w?.stop("bob")]);
  });

  it(
    `connects over tcp within 5 s, ${ROUNDS} times in a row, and carries 50 MB byte-exact`,
    async () => {
      const times: number[] = [];
      let transferMs = 0;
      const bobPublic = ctx.lab.natPublicIp("b");
      const joePublic = ctx.lab.natPublicIp("a");
      for (let round = 0; round < ROUNDS; round++) {
        // bob only answers (he has no forward to joe); joe asks as soon as he is registered, so the
        // second registration is joe's and the clock starts there.
        w.startBob();
        const bobReg = await w.waitBob(registered);
        w.startJoe();
        const joeReg = await w.waitJoe(registered);
        const t0 = performance.now();
        const joe = await w.waitJoe(connected);
        const bob = await w.waitBob(connected);
        const ms = performance.now() - t0;
        times.push(ms);
        const logs = () => `joe:\n${w.log("joe").slice(-4000)}\nbob:\n${w.log("bob").slice(-4000)}`;
        expect(ms, `round ${round}: ${ms.toFixed(0)} ms\n${logs()}`).toBeLessThan(CONNECT_BOUND_MS);
        // Registered over TCP only: UDP never reached the introducer.
        for (const s of [bobReg, joeReg]) {
          expect(s.introducers[0].publicEndpoint).toBeNull();
          expect(s.introducers[0].tcpPublicEndpoint).toMatch(/^203\.0\.113\.\d+:\d+$/);
        }
        expect(joe.peers[0].path).toBe("tcp");
        expect(bob.peers[0].path).toBe("tcp");
        expect(joe.peers[0].endpoint?.split(":")[0]).toBe(bobPublic);
        expect(bob.peers[0].endpoint?.split(":")[0]).toBe(joePublic);
        if (round === 0) {
          const sent = performance.now();
          const r = await w.sendThroughForward(BIG);
          transferMs = performance.now() - sent;
          expect(r.error).toBe("");
          expect(r.reply).toBe(expectedDigest(BIG));
          const text = await ctx.lab.a.exec([
            process.execPath,
            process.env.P2PTUN_CLI ?? CLI, // the build the daemons run (see p2p-world.ts)
            "status",
            "--control",
            w.world.joeControl,
          ]);
          expect(text.code).toBe(0);
          expect(text.stdout).toMatch(/bob\s+connected\s+tcp\s/);
          expect(text.stdout).toMatch(/bob: over TCP: UDP is blocked here/);
          // p2ptun ping measures round trips over the TCP path's mux.
          const ping = await ctx.lab.a.exec([
            process.execPath,
            process.env.P2PTUN_CLI ?? CLI,
            "ping",
            "bob",
            "--count",
            "2",
            "--control",
            w.world.joeControl,
          ]);
          expect(ping.code, ping.stderr).toBe(0);
          expect(ping.stdout).toMatch(/^pong from bob \(203\.0\.113\.66:\d+\) via tcp in \d+\.\d+ms\n/);
          // SOCKS over the TCP path: curl fetches a page from bob's host by address.
          const curl = await ctx.lab.a.exec(
            [
              "curl",
              "-sS",
              "--max-time",
              "20",
              "--retry",
              "5",
              "--retry-connrefused",
              "--socks5-hostname",
              SOCKS_LISTEN,
              `http://${WEB}/page.txt`,
            ],
            { timeoutMs: 60_000 },
          );
          expect(curl.stdout, curl.stderr).toBe("served on bob's host\n");
          if (sshd) {
            // ssh over the TCP path runs a command in bob's namespace.
            const ssh = await ctx.lab.a.exec(sshd.sshCommand(SSH_FORWARD, "ip netns identify"), {
              timeoutMs: 60_000,
            });
            expect(ssh.code, ssh.stderr).toBe(0);
            expect(ssh.stdout.trim()).toBe(ctx.lab.b.ns);
          }
          const after = await w.joe();
          expect(after?.peers[0].bytesOut).toBeGreaterThan(BIG);
        }
        await Promise.all([w.stop("joe"), w.stop("bob")]);
      }
      const core = await ctx.lab.coreCounters();
      expect(core.aToBUdp.packets + core.bToAUdp.packets).toBe(0);
      expect(core.aToBTcp.packets).toBeGreaterThan(0);
      expect(core.bToATcp.packets).toBeGreaterThan(0);
      const intro = await ctx.lab.introducerCounters();
      expect(intro.udpAll.packets).toBe(0);
      // The 50 MB went peer to peer: the introducer's host saw only registration traffic.
      expect(intro.tcpAll.bytes).toBeLessThan(5 * 1024 * 1024);
      expect((await ctx.lab.natCounters("a")).udpBlocked.packets).toBeGreaterThan(0);
      expect((await ctx.lab.natCounters("b")).udpBlocked.packets).toBeGreaterThan(0);
      console.log(
        `[natlab] TCP fallback: ${ROUNDS}/${ROUNDS} connected over tcp; from 2nd registration to both connected: ` +
          `median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms; ` +
          `50 MB through the forward in ${(transferMs / 1000).toFixed(1)} s`,
      );
    },
    120_000 + ROUNDS * 20_000,
  );

  it("reconnects over tcp when joe restarts while bob stays up", async () => {
    w.startBob();
    await w.waitBob(registered);
    w.startJoe();
    await w.waitJoe(connected);
    await w.waitBob(connected);
    await w.stop("joe");
    // bob sees the connection close; joe is gone from the introducer, so bob waits.
    await w.waitBob((s) => s.peers[0].state !== "connected");
    w.startJoe();
    const joe = await w.waitJoe(connected);
    const bob = await w.waitBob(connected);
    expect([joe.peers[0].path, bob.peers[0].path]).toEqual(["tcp", "tcp"]);
    expect((await w.sendThroughForward(SMALL)).reply).toBe(expectedDigest(SMALL));
    await Promise.all([w.stop("joe"), w.stop("bob")]);
  }, 90_000);
});

/**
 * The other scenarios run fewer rounds: they check the decision, the main one the reliability.
 * Each of their rounds gets a fresh introducer: a daemon that sees its peer's TCP connection close
 * asks for a new introduction just before it is stopped itself, and an introduction still pending
 * from that dead daemon (to a UDP registration that outlives it by 45 s) can hold up the next
 * round's request (an introducer issue, reported separately).
 */
const EXTRA_ROUNDS = Math.min(ROUNDS, 3);

/**
 * Registered over UDP and over TCP. `registered` alone is true as soon as either answers, and the
 * TCP registration can win when the introducer has just started (a first UDP REGISTER sent before
 * it listened is repeated a moment later).
 */
const registeredBothWays = (s: DaemonStatus) =>
  s.introducers[0].publicEndpoint !== null && s.introducers[0].tcpPublicEndpoint !== null;

describeNatlab("TCP fallback: UDP dropped on joe's NAT only", () => {
  const ctx = useLab({ a: { nat: "udp-blocked-drop" }, b: { nat: "eim-drop" } });
  const env = useP2pWorld(ctx, (w) => w.startTarget("digest"));

  it(
    `both see that UDP cannot work and connect over tcp within 5 s, ${EXTRA_ROUNDS} times`,
    async () => {
      const { w } = env;
      const times: number[] = [];
      for (let round = 0; round < EXTRA_ROUNDS; round++) {
        w.startIntroducer();
        w.startBob();
        await w.waitBob(registeredBothWays); // bob's UDP works
        w.startJoe();
        const joeReg = await w.waitJoe(registered);
        expect(joeReg.introducers[0].publicEndpoint).toBeNull();
        const t0 = performance.now();
        const joe = await w.waitJoe(connected);
        const bob = await w.waitBob(connected);
        const ms = performance.now() - t0;
        times.push(ms);
        expect(ms).toBeLessThan(CONNECT_BOUND_MS);
        expect([joe.peers[0].path, bob.peers[0].path]).toEqual(["tcp", "tcp"]);
        expect(joe.peers[0].reason).toBe(
          "over TCP: UDP is blocked here (the introducer answers only over TCP)",
        );
        expect(bob.peers[0].reason).toBe("over TCP: UDP is blocked at joe (it has no public UDP endpoint)");
        if (round === 0) expect((await w.sendThroughForward(SMALL)).reply).toBe(expectedDigest(SMALL));
        await Promise.all([w.stop("joe"), w.stop("bob")]);
        await w.stop("introducer");
      }
      console.log(
        `[natlab] TCP fallback, UDP blocked on one side: ${EXTRA_ROUNDS}/${EXTRA_ROUNDS} over tcp; ` +
          `median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`,
      );
    },
    60_000 + EXTRA_ROUNDS * 20_000,
  );
});

describeNatlab("TCP fallback: UDP reaches the introducer but no UDP punch gets through", () => {
  const ctx = useLab({ a: { nat: "udp-peer-blocked" }, b: { nat: "udp-peer-blocked" } });
  const env = useP2pWorld(ctx, (w) => w.startTarget("digest"));

  it("punches TCP next to UDP and switches to it once the UDP punch has failed", async () => {
    const { w } = env;
    const times: number[] = [];
    for (let round = 0; round < Math.min(EXTRA_ROUNDS, 2); round++) {
      w.startIntroducer();
      w.startBob();
      // The UDP path to the introducer works here.
      await w.waitBob(registeredBothWays);
      w.startJoe();
      await w.waitJoe(registeredBothWays);
      const t0 = performance.now();
      // UDP gets its whole budget (9 s) first.
      const joe = await w.waitJoe(connected, 30_000);
      const bob = await w.waitBob(connected, 30_000);
      times.push(performance.now() - t0);
      expect([joe.peers[0].path, bob.peers[0].path]).toEqual(["tcp", "tcp"]);
      // "failed", or "failed last time" when the first introduction had no `tcp` candidate.
      expect(joe.peers[0].reason).toMatch(/^over TCP: the UDP punch failed/);
      expect(joe.peers[0].endpoint?.split(":")[0]).toBe(ctx.lab.natPublicIp("b"));
      if (round === 0) expect((await w.sendThroughForward(SMALL)).reply).toBe(expectedDigest(SMALL));
      await Promise.all([w.stop("joe"), w.stop("bob")]);
      await w.stop("introducer");
    }
    const core = await ctx.lab.coreCounters();
    expect(core.aToBUdp.packets + core.bToAUdp.packets).toBe(0);
    expect((await ctx.lab.introducerCounters()).udpIntroducer.packets).toBeGreaterThan(0);
    console.log(
      `[natlab] TCP fallback after a failed UDP punch: connected over tcp after ` +
        `${times.map((t) => (t / 1000).toFixed(1)).join(", ")} s`,
    );
  }, 120_000);
});
