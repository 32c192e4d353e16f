/**
 * The lab between two real NATs: how far a TTL-limited packet gets, and the remap race that a
 * short-TTL primer avoids. These are the behaviours p2ptun's UDP punch is designed around.
 */
import { expect, it } from "vitest";
import {
  Agent,
  describeNatlab,
  failOnLeftoverNamespaces,
  tcpConnect,
  udpExchange,
  useLab,
  waitUntil,
} from "./lab.js";

failOnLeftoverNamespaces();

describeNatlab("natlab: between two eim NATs", () => {
  const ctx = useLab({ a: { nat: "eim" }, b: { nat: "eim" } });

  it("TTL n from host A: 1 dies in natA, 2 leaves natA, 4 crosses the core, 5 reaches natB", async () => {
    const core0 = await ctx.lab.coreCounters();
    const ttls = [1, 2, 3, 4, 5, 6];
    for (const ttl of ttls) {
      await udpExchange(ctx.lab.a, {
        bind: 41000 + ttl,
        sends: [{ host: ctx.lab.natPublicIp("b"), port: 42000 + ttl, hex: "10", ttl }],
        expectReplies: 0,
      });
    }
    const atNatB = (ttl: number) =>
      ctx.lab.conntrackEntries("b", ["-p", "udp", "--dport", String(42000 + ttl)]).then((e) => e.length > 0);
    // Packets on one path stay in order, so once TTL 5 and 6 have arrived, the earlier ones are settled.
    await waitUntil(async () => (await atNatB(5)) && (await atNatB(6)), "TTL 5 and 6 at natB");
    const natAMapped = await Promise.all(
      ttls.map(
        async (ttl) =>
          (await ctx.lab.conntrackEntries("a", ["-p", "udp", "--sport", String(41000 + ttl)])).length > 0,
      ),
    );
    const natBSaw = await Promise.all(ttls.map(atNatB));
    const core1 = await ctx.lab.coreCounters();
    expect(natAMapped).toEqual([false, true, true, true, true, true]);
    expect(natBSaw).toEqual([false, false, false, false, true, true]);
    expect(core1.aToBUdp.packets - core0.aToBUdp.packets).toBe(3); // TTL 4, 5 and 6
  });

  it("without a primer, B's early packet makes natA remap A's port, so the punch misses", async () => {
    const { lab } = ctx;
    const [natA, natB] = [lab.natPublicIp("a"), lab.natPublicIp("b")];
    const hostA = await Agent.start(lab.a, { udp: [43001], echo: false });
    const hostB = await Agent.start(lab.b, { udp: [43002], echo: false });
    try {
      await hostB.send(43002, natA, 43001, "10");
      await waitUntil(
        async () => (await lab.conntrackEntries("a", ["-p", "udp", "--dport", "43001"])).length > 0,
        "B's packet at natA",
      );
      await hostA.send(43001, natB, 43002, "10");
      const mapped = await waitUntil(() => lab.mappedUdpPort("a", 43001, `${natB}:43002`), "A's mapping");
      expect(mapped).not.toBe(43001);
      // natB only lets in natA:43001 (where B sent to). A arrives from natA:<mapped>, so natB takes
      // it as unsolicited and delivers it to itself; once that entry exists, B has missed it.
      await waitUntil(async () => {
        const filter = ["-p", "udp", "-s", natA, "--sport", String(mapped), "--dport", "43002"];
        return (await lab.conntrackEntries("b", filter)).length > 0;
      }, "A's packet at natB");
      expect(await lab.mappedUdpPort("b", 43002, `${natA}:43001`)).toBe(43002);
      expect(hostB.udp).toEqual([]);
    } finally {
      hostA.stop();
      hostB.stop();
    }
  });

  it("with a TTL-2 primer from A first, B's packet gets through natA and A keeps its port", async () => {
    const { lab } = ctx;
    const [natA, natB] = [lab.natPublicIp("a"), lab.natPublicIp("b")];
    const hostA = await Agent.start(lab.a, { udp: [43011], echo: false });
    const hostB = await Agent.start(lab.b, { udp: [43012], echo: false });
    try {
      // The primer dies at routerA but leaves A's mapping natA:43011 <-> natB:43012 behind.
      await hostA.send(43011, natB, 43012, "10", 2);
      expect(
        await waitUntil(() => lab.mappedUdpPort("a", 43011, `${natB}:43012`), "the primer's mapping"),
      ).toBe(43011);
      await hostB.send(43012, natA, 43011, "10");
      const atA = await hostA.waitUdp(() => true, "B's packet at A");
      expect(atA.from).toBe(`${natB}:43012`);
      await hostA.send(43011, natB, 43012, "20");
      const atB = await hostB.waitUdp(() => true, "A's packet at B");
      expect(atB.from).toBe(`${natA}:43011`);
    } finally {
      hostA.stop();
      hostB.stop();
    }
  });

  it("answers an early TCP SYN with a RST from natB itself, which also clears A's conntrack entry", async () => {
    const { lab } = ctx;
    const natB = lab.natPublicIp("b");
    const r = await tcpConnect(lab.a, { host: natB, port: 44102, localPort: 44101, untilConnected: true });
    expect(r).toEqual({ error: "ECONNREFUSED" });
    // Conntrack kills an unassured TCP entry on RST: no leftover that could cause a remap, but the
    // connect is over, so simultaneous open through this NAT needs the SYNs to cross in flight.
    expect(await lab.conntrackEntries("a", ["-p", "tcp", "--sport", "44101"])).toEqual([]);
    expect(await lab.conntrackEntries("b", ["-p", "tcp", "--dport", "44102"])).toEqual([]);
  });
});

describeNatlab("natlab: TCP simultaneous open between two eim-drop NATs", () => {
  const ctx = useLab({ a: { nat: "eim-drop" }, b: { nat: "eim-drop" } });

  it("connects when A's SYN was silently dropped at natB before B's SYN crossed natA", async () => {
    const { lab } = ctx;
    const [natA, natB] = [lab.natPublicIp("a"), lab.natPublicIp("b")];
    const opts = { untilConnected: true, timeoutMs: 5000 };
    const fromA = tcpConnect(lab.a, { host: natB, port: 44002, localPort: 44001, ...opts });
    // A's SYN opened natA (A is now in SYN_SENT); natB dropped it without answering.
    await waitUntil(
      async () => (await lab.natCounters("b")).unsolicitedDropped.packets > 0,
      "A's SYN dropped",
    );
    const fromB = tcpConnect(lab.b, { host: natA, port: 44001, localPort: 44002, ...opts });
    expect(await fromB).toEqual({ connected: `${natA}:44001` });
    expect(await fromA).toEqual({ connected: `${natB}:44002` });
  });
});
