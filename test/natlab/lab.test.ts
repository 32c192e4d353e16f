/**
 * Validates the NAT lab itself: that each NAT kind behaves as the README says, observed with small
 * UDP/TCP programs inside the namespaces. Negative results ("did not arrive") are proven with
 * ordering (a later packet on the same path arrived) or nftables counters, never with sleeps.
 */
import { execFileSync } from "node:child_process";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  Agent,
  describeNatlab,
  failOnLeftoverNamespaces,
  INTRODUCER_IP,
  ipOf,
  Lab,
  type LabOptions,
  listNamespaces,
  portOf,
  sweepLeftovers,
  tcpConnect,
  udpExchange,
  useLab,
  waitUntil,
} from "./lab.js";
import { lossRule, planLab } from "./lab-topology.js";

failOnLeftoverNamespaces();

/** A lab for a describe block, with echo agents on the introducer and host B. */
function useLabWithAgents(opts: LabOptions) {
  const shared = useLab(opts);
  const ctx = {} as { lab: Lab; intro: Agent; b: Agent };
  beforeAll(async () => {
    ctx.lab = shared.lab;
    ctx.intro = await Agent.start(ctx.lab.introducer, { udp: [7000, 7001, 7100, 7101], tcp: [7000] });
    ctx.b = await Agent.start(ctx.lab.b, { udp: [7000] });
  });
  return ctx;
}

/** Waits until natA holds a conntrack entry whose original destination port is `port`. */
function conntrackTo(lab: Lab, port: number) {
  return waitUntil(
    async () => (await lab.conntrackEntries("a", ["-p", "udp", "--dport", String(port)])).length > 0,
    `conntrack entry for dport ${port}`,
  );
}

describeNatlab("natlab: eim NAT on side A, public host B", () => {
  const ctx = useLabWithAgents({ a: { nat: "eim", udpTimeoutSec: 20 }, b: { nat: "public" } });

  it("shows host A to the introducer as natA's public address, and the reply gets back", async () => {
    const r = await udpExchange(ctx.lab.a, {
      sends: [{ host: INTRODUCER_IP, port: 7000, hex: "01" }],
      expectReplies: 1,
    });
    expect(ctx.lab.a.ip).toBe("10.0.1.2");
    expect(r.replies).toHaveLength(1);
    expect(ipOf(r.replies[0]!.text)).toBe(ctx.lab.natPublicIp("a"));
    expect(ctx.lab.natPublicIp("a")).toBe("203.0.113.2");
  });

  it("preserves the source port and keeps the same mapping for two destinations", async () => {
    const r = await udpExchange(ctx.lab.a, {
      bind: 40001,
      sends: [
        { host: INTRODUCER_IP, port: 7000, hex: "01" },
        { host: ctx.lab.b.ip, port: 7000, hex: "10" },
      ],
      expectReplies: 2,
    });
    expect(r.replies.map((x) => x.text).sort()).toEqual(["203.0.113.2:40001", "203.0.113.2:40001"]);
  });

  it("remaps A's port when an unsolicited packet to natA:port arrived first (the remap race)", async () => {
    const icmpBefore = (await ctx.lab.introducerCounters()).icmpAll.packets;
    await ctx.intro.send(7100, ctx.lab.natPublicIp("a"), 40002, "10");
    await conntrackTo(ctx.lab, 40002);
    // natA itself has nothing on that port, so its kernel answers with ICMP port unreachable.
    await waitUntil(
      async () => (await ctx.lab.introducerCounters()).icmpAll.packets > icmpBefore,
      "ICMP from natA",
    );
    const r = await udpExchange(ctx.lab.a, {
      bind: 40002,
      sends: [{ host: INTRODUCER_IP, port: 7100, hex: "10" }],
      expectReplies: 1,
    });
    expect(ipOf(r.replies[0]!.text)).toBe("203.0.113.2");
    expect(portOf(r.replies[0]!.text)).not.toBe(40002);
  });

  it("filters inbound per remote endpoint: a third party cannot reach A's mapped port", async () => {
    const hostA = await Agent.start(ctx.lab.a, { udp: [40006], echo: false });
    try {
      await hostA.send(40006, INTRODUCER_IP, 7000, "01");
      await ctx.intro.waitUdp((rx) => rx.from === "203.0.113.2:40006", "A's packet at the introducer");
      // B has never been sent to, so its packet finds no conntrack entry and goes to natA itself.
      const fromB = await udpExchange(ctx.lab.b, {
        connect: true,
        sends: [{ host: "203.0.113.2", port: 40006, hex: "10" }],
        expectReplies: 1,
      });
      expect(fromB.errors).toEqual(["ECONNREFUSED"]);
      // The introducer's echo, which answers A's own packet, is the only thing A received.
      await hostA.waitUdp((rx) => rx.from === `${INTRODUCER_IP}:7000`, "the introducer's echo at A");
      expect(hostA.udp.map((rx) => rx.from)).toEqual([`${INTRODUCER_IP}:7000`]);
    } finally {
      hostA.stop();
    }
  });

  it("drops a TTL-2 primer before the core but lets it create A's mapping; TTL 64 arrives", async () => {
    const before = await ctx.lab.coreCounters();
    await udpExchange(ctx.lab.a, {
      bind: 40003,
      sends: [
        { host: ctx.lab.b.ip, port: 7000, hex: "aa", ttl: 2 },
        { host: ctx.lab.b.ip, port: 7000, hex: "bb", ttl: 64 },
      ],
      expectReplies: 1,
    });
    await ctx.b.waitUdp((rx) => rx.hex === "bb", "the TTL-64 packet at host B");
    expect(ctx.b.udp.filter((rx) => rx.hex === "aa")).toEqual([]);
    const after = await ctx.lab.coreCounters();
    expect(after.aToBUdp.packets - before.aToBUdp.packets).toBe(1);
    // The primer left natA: the mapping towards B exists (that is what a primer is for).
    const entries = await ctx.lab.conntrackEntries("a", ["-p", "udp", "--dport", "7000", "-d", ctx.lab.b.ip]);
    expect(entries.some((e) => e.includes("sport=40003"))).toBe(true);
  });

  it("forgets mappings on flushConntrack: the introducer can no longer reach A", async () => {
    const hostA = await Agent.start(ctx.lab.a, { udp: [40004] });
    try {
      // Filtering is per remote endpoint, so open the mapping towards the port we probe from
      // (nothing listens there; the introducer's ICMP answer does not remove the entry).
      await hostA.send(40004, INTRODUCER_IP, 7102, "01");
      await waitUntil(
        async () => (await ctx.lab.conntrackEntries("a", ["-p", "udp", "--sport", "40004"])).length > 0,
        "A's mapping",
      );
      const beforeFlush = await udpExchange(ctx.lab.introducer, {
        bind: 7102,
        sends: [{ host: "203.0.113.2", port: 40004, hex: "02" }],
        expectReplies: 1,
        connect: true,
      });
      expect(beforeFlush.errors).toEqual([]);
      expect(beforeFlush.replies[0]!.text).toBe(`${INTRODUCER_IP}:7102`);

      await ctx.lab.flushConntrack("a");
      const afterFlush = await udpExchange(ctx.lab.introducer, {
        bind: 7102,
        sends: [{ host: "203.0.113.2", port: 40004, hex: "03" }],
        expectReplies: 1,
        connect: true,
      });
      // No mapping any more: natA answers for itself, and the port is closed there.
      expect(afterFlush.errors).toEqual(["ECONNREFUSED"]);
      expect(afterFlush.replies).toEqual([]);
    } finally {
      hostA.stop();
    }
  });

  it("applies the configured conntrack UDP timeout inside natA only", async () => {
    const natA = await ctx.lab
      .natBox("a")
      .execChecked(["sysctl", "-n", "net.netfilter.nf_conntrack_udp_timeout"]);
    expect(natA.stdout.trim()).toBe("20");
    await udpExchange(ctx.lab.a, {
      bind: 40005,
      sends: [{ host: INTRODUCER_IP, port: 7000, hex: "01" }],
      expectReplies: 1,
    });
    const [entry] = await ctx.lab.conntrackEntries("a", ["-p", "udp", "--sport", "40005"]);
    const secondsLeft = Number(entry!.split(/\s+/)[2]);
    expect(secondsLeft).toBeGreaterThan(0);
    expect(secondsLeft).toBeLessThanOrEqual(20);
  });

  it("counts packets at the introducer by p2ptun packet type, and core traffic by direction", async () => {
    const before = await ctx.lab.introducerCounters();
    await udpExchange(ctx.lab.a, {
      sends: ["01", "0f", "10", "11", "20", "22", "55"].map((hex) => ({
        host: INTRODUCER_IP,
        port: 7000,
        hex,
      })),
      expectReplies: 7,
    });
    const after = await ctx.lab.introducerCounters();
    const delta = (k: keyof typeof after) => after[k].packets - before[k].packets;
    expect([delta("udpAll"), delta("udpIntroducer"), delta("udpProbe"), delta("udpSession")]).toEqual([
      7, 2, 2, 2,
    ]);
    expect(delta("tcpAll")).toBe(0);

    const core0 = await ctx.lab.coreCounters();
    const r = await tcpConnect(ctx.lab.a, { host: INTRODUCER_IP, port: 7000 });
    expect(ipOf(r.reply!)).toBe("203.0.113.2");
    const core1 = await ctx.lab.coreCounters();
    expect(core1.aToBTcp.packets).toBe(core0.aToBTcp.packets); // the introducer is not side B
    const after2 = await ctx.lab.introducerCounters();
    expect(after2.tcpSyn.packets - after.tcpSyn.packets).toBe(1);
  });

  it("drops everything at 100 % loss and nothing at 0 %", async () => {
    await ctx.lab.setLoss("a", 100);
    const dropped0 = (await ctx.lab.natCounters("a")).lossDropped.packets;
    await udpExchange(ctx.lab.a, {
      sends: [{ host: INTRODUCER_IP, port: 7000, hex: "01" }],
      expectReplies: 0,
    });
    await waitUntil(
      async () => (await ctx.lab.natCounters("a")).lossDropped.packets > dropped0,
      "a loss drop",
    );
    await ctx.lab.setLoss("a", 0);
    const r = await udpExchange(ctx.lab.a, {
      sends: [{ host: INTRODUCER_IP, port: 7000, hex: "01" }],
      expectReplies: 1,
    });
    expect(r.replies).toHaveLength(1);
  });
});

describeNatlab("natlab: symmetric NAT on side A", () => {
  const ctx = useLabWithAgents({ a: { nat: "symmetric" }, b: { nat: "public" } });

  it("gives a different public port per destination", async () => {
    const r = await udpExchange(ctx.lab.a, {
      bind: 40010,
      sends: [
        { host: INTRODUCER_IP, port: 7000, hex: "01" },
        { host: INTRODUCER_IP, port: 7001, hex: "01" },
        { host: ctx.lab.b.ip, port: 7000, hex: "10" },
      ],
      expectReplies: 3,
    });
    expect(r.replies.every((x) => ipOf(x.text) === "203.0.113.2")).toBe(true);
    expect(new Set(r.replies.map((x) => portOf(x.text))).size).toBeGreaterThan(1);
  });
});

describeNatlab("natlab: firewalled NATs (eim-drop on A, eim-reject on B)", () => {
  const ctx = useLabWithAgents({ a: { nat: "eim-drop" }, b: { nat: "eim-reject" } });

  it("eim-drop: drops the unsolicited packet without a conntrack entry, so A keeps its port", async () => {
    const icmpBefore = (await ctx.lab.introducerCounters()).icmpAll.packets;
    await ctx.intro.send(7100, ctx.lab.natPublicIp("a"), 40020, "10");
    await waitUntil(async () => (await ctx.lab.natCounters("a")).unsolicitedDropped.packets > 0, "the drop");
    expect(await ctx.lab.conntrackEntries("a", ["-p", "udp", "--dport", "40020"])).toEqual([]);
    const r = await udpExchange(ctx.lab.a, {
      bind: 40020,
      sends: [{ host: INTRODUCER_IP, port: 7100, hex: "10" }],
      expectReplies: 1,
    });
    expect(r.replies[0]!.text).toBe("203.0.113.2:40020");
    expect((await ctx.lab.introducerCounters()).icmpAll.packets).toBe(icmpBefore); // silently dropped
  });

  it("eim-reject: answers unsolicited UDP with port unreachable and does not remap", async () => {
    const probe = await udpExchange(ctx.lab.introducer, {
      bind: 7200,
      connect: true,
      sends: [{ host: ctx.lab.natPublicIp("b"), port: 40021, hex: "10" }],
      expectReplies: 1,
    });
    expect(probe.errors).toEqual(["ECONNREFUSED"]);
    expect((await ctx.lab.natCounters("b")).unsolicitedRejected.packets).toBeGreaterThan(0);
    const r = await udpExchange(ctx.lab.b, {
      bind: 40021,
      sends: [{ host: INTRODUCER_IP, port: 7000, hex: "10" }],
      expectReplies: 1,
    });
    expect(r.replies[0]!.text).toBe(`${ctx.lab.natPublicIp("b")}:40021`);
  });

  it("eim-reject: resets unsolicited TCP", async () => {
    const r = await tcpConnect(ctx.lab.introducer, { host: ctx.lab.natPublicIp("b"), port: 40022 });
    expect(r.error).toBe("ECONNREFUSED");
  });
});

describeNatlab("natlab: udp-blocked NAT on side A", () => {
  const ctx = useLabWithAgents({ a: { nat: "udp-blocked" }, b: { nat: "public" } });

  it("drops UDP from the LAN but lets TCP through the NAT", async () => {
    const udpBefore = (await ctx.lab.introducerCounters()).udpAll.packets;
    await udpExchange(ctx.lab.a, {
      sends: [{ host: INTRODUCER_IP, port: 7000, hex: "01" }],
      expectReplies: 0,
    });
    await waitUntil(async () => (await ctx.lab.natCounters("a")).udpBlocked.packets > 0, "the UDP drop");
    const r = await tcpConnect(ctx.lab.a, { host: INTRODUCER_IP, port: 7000 });
    expect(ipOf(r.reply!)).toBe("203.0.113.2");
    expect((await ctx.lab.introducerCounters()).udpAll.packets).toBe(udpBefore);
  });
});

describeNatlab("natlab: both hosts behind one NAT", () => {
  const ctx = useLabWithAgents({ a: { nat: "eim" }, sameNat: true });

  it("lets the hosts reach each other on the LAN and shows both as the same public IP", async () => {
    expect([ctx.lab.a.ip, ctx.lab.b.ip]).toEqual(["10.0.1.2", "10.0.1.3"]);
    const direct = await udpExchange(ctx.lab.a, {
      bind: 40030,
      sends: [{ host: ctx.lab.b.ip, port: 7000, hex: "10" }],
      expectReplies: 1,
    });
    expect(direct.replies[0]!.text).toBe("10.0.1.2:40030");
    const seen = await Promise.all(
      [ctx.lab.a, ctx.lab.b].map((h) =>
        udpExchange(h, { sends: [{ host: INTRODUCER_IP, port: 7000, hex: "01" }], expectReplies: 1 }),
      ),
    );
    expect(seen.map((s) => ipOf(s.replies[0]!.text))).toEqual(["203.0.113.2", "203.0.113.2"]);
    expect(ctx.lab.natPublicIp("b")).toBe("203.0.113.2");
  });
  it("keeps the port for the first host and remaps the second when both use it to one destination", async () => {
    const first = await udpExchange(ctx.lab.a, {
      bind: 40031,
      sends: [{ host: INTRODUCER_IP, port: 7001, hex: "01" }],
      expectReplies: 1,
    });
    const second = await udpExchange(ctx.lab.b, {
      bind: 40031,
      sends: [{ host: INTRODUCER_IP, port: 7001, hex: "01" }],
      expectReplies: 1,
    });
    expect(first.replies[0]!.text).toBe("203.0.113.2:40031");
    expect(ipOf(second.replies[0]!.text)).toBe("203.0.113.2");
    expect(portOf(second.replies[0]!.text)).not.toBe(40031);
  });
});

describeNatlab("natlab: lifecycle", () => {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.destroy();
  });

  it("destroy kills spawned processes and removes every namespace; a second destroy is harmless", async () => {
    lab = await Lab.create({ a: { nat: "eim" }, b: { nat: "eim" } });
    const names = listNamespaces().filter((n) => n.startsWith(lab!.prefix));
    expect(names).toHaveLength(8);
    const child = lab.b.spawn(["sleep", "600"]);
    const exited = new Promise((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    await lab.destroy();
    expect(await exited).toBe("SIGKILL");
    expect(listNamespaces().filter((n) => n.startsWith(lab!.prefix))).toEqual([]);
    await lab.destroy();
  });

  it("removes a lab's namespaces when its process exits without destroying it", async () => {
    const script = `import(${JSON.stringify(new URL("./lab-core.ts", import.meta.url).pathname)}).then(async (m) => {
      const lab = await m.Lab.create({ a: { nat: "eim" }, b: { nat: "public" } });
      process.stdout.write(lab.prefix + " " + m.listNamespaces().filter((n) => n.startsWith(lab.prefix)).length);
      process.exit(0);
    });`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8" });
    const [prefix, count] = out.trim().split(" ");
    expect(Number(count)).toBe(8);
    expect(listNamespaces().filter((n) => n.startsWith(prefix!))).toEqual([]);
  });

  it("sweeps namespaces left behind by a process that no longer exists", async () => {
    const deadPid = findDeadPid();
    const leftover = `p2p${deadPid}x1c`;
    execFileSync("ip", ["netns", "add", leftover]);
    expect(sweepLeftovers()).toContain(leftover);
    expect(listNamespaces()).not.toContain(leftover);
  });
});

/** A pid with no process behind it, so its "leftovers" are fair game for the sweep. */
function findDeadPid(): number {
  for (let pid = 4_000_000; ; pid++) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") return pid;
    }
  }
}

describe("natlab: plan (no root needed)", () => {
  it("rejects loss percentages nft cannot express", () => {
    for (const bad of [-1, 101, 2.5]) expect(() => lossRule(bad)).toThrow(/bad loss percent/);
    expect(lossRule(0)).toBe("");
    expect(lossRule(100)).not.toContain("numgen"); // numgen mod 100 < 100 is out of nft's range
    expect(lossRule(30)).toContain("numgen random mod 100 < 30");
  });

  it("needs side b unless both hosts share natA", () => {
    expect(() => planLab({ nat: "eim" }, undefined, false)).toThrow(/side b/);
    const same = planLab({ nat: "eim" }, undefined, true);
    expect(same.hostIps).toEqual({ a: "10.0.1.2", b: "10.0.1.3" });
    expect(same.namespaces.map((n) => n.role).sort()).toEqual(["c", "ha", "hb", "i", "na", "ra"]);
  });

  it("puts a public host on a routed public subnet behind a plain router", () => {
    const plan = planLab({ nat: "public" }, { nat: "symmetric" }, false);
    expect(plan.natPublicIps).toEqual({ a: "203.0.113.18", b: "203.0.113.66" });
    const natA = plan.namespaces.find((n) => n.role === "na")!;
    expect(natA.nft).not.toContain("masquerade");
    const natB = plan.namespaces.find((n) => n.role === "nb")!;
    expect(natB.nft).toContain("masquerade fully-random");
  });
});
