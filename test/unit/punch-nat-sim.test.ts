/** The simulator's NAT and network models behave as the RFC 4787 terms they are named after. */
import { describe, expect, it } from "vitest";
import { type SimFiltering, SimNat } from "../../src/punch/sim/nat.js";
import { SimNetwork } from "../../src/punch/sim/network.js";

const inside = { host: "10.0.0.2", port: 41641 };
const x = { host: "198.51.100.1", port: 3478 };
const y = { host: "203.0.113.9", port: 5000 };
const ySibling = { host: "203.0.113.9", port: 5001 };

const nat = (
  mapping: "endpoint-independent" | "endpoint-dependent",
  filtering: SimFiltering = "address-port",
) => new SimNat({ publicIp: "192.0.2.10", mapping, filtering });

describe("SimNat", () => {
  it("endpoint-independent mapping keeps (and preserves) one port for every destination", () => {
    const n = nat("endpoint-independent");
    expect(n.outbound(inside, x)).toEqual({ host: "192.0.2.10", port: 41641 });
    expect(n.outbound(inside, y).port).toBe(41641);
  });

  it("endpoint-dependent mapping gives each destination its own port", () => {
    const n = nat("endpoint-dependent");
    const px = n.outbound(inside, x).port;
    const py = n.outbound(inside, y).port;
    expect(px).not.toBe(py);
    expect(n.outbound(inside, x).port).toBe(px);
  });

  it("filters inbound packets by address, by address and port, or not at all", () => {
    const cases: Array<[SimFiltering, boolean, boolean]> = [
      ["none", true, true],
      ["address", true, true],
      ["address-port", true, false],
    ];
    for (const [filtering, fromY, fromSibling] of cases) {
      const n = nat("endpoint-independent", filtering);
      const { port } = n.outbound(inside, y);
      expect(n.inbound(y, port) !== null).toBe(fromY);
      expect(n.inbound(ySibling, port) !== null).toBe(fromSibling);
      expect(n.inbound({ host: "198.51.100.77", port: 1 }, port) !== null).toBe(filtering === "none");
      expect(n.inbound(y, port + 1)).toBeNull(); // no mapping there
    }
  });

  it("re-maps a destination whose tuple an unsolicited packet claimed first", () => {
    const n = new SimNat({
      publicIp: "192.0.2.10",
      mapping: "endpoint-independent",
      filtering: "address-port",
      remapOnUnsolicited: true,
    });
    const { port } = n.outbound(inside, x);
    expect(n.inbound(y, port)).toBeNull(); // arrives before we sent to y
    expect(n.outbound(inside, y).port).not.toBe(port);
    expect(n.counters.remapped).toBe(1);
    expect(n.inbound(y, port)).toBeNull(); // still claimed by the NAT itself
  });
});

describe("SimNetwork", () => {
  it("drops a TTL-2 packet at the first router after the NAT, and delivers a normal one", () => {
    const net = new SimNetwork({ wanDelayMs: 20 });
    const n = net.addNat(nat("endpoint-independent"));
    net.addHost(inside.host, n);
    const got: number[] = [];
    net.addHost(x.host).receive = (_p, _from, now) => got.push(now);
    net.send(inside.host, inside.port, Buffer.from("primer"), x, 2);
    expect(n.counters.out).toBe(1); // the NAT mapped it before the router dropped it
    net.send(inside.host, inside.port, Buffer.from("ping"), x);
    net.runUntil(100);
    expect(got).toEqual([20]);
    expect(net.drops.ttl).toBe(1);
  });

  it("matches the NAT lab's TTL ladder: 2 leaves our NAT, 5 is seen by the far NAT, 6 gets inside", () => {
    const net = new SimNetwork();
    const natA = net.addNat(nat("endpoint-independent"));
    const natB = net.addNat(
      new SimNat({ publicIp: "203.0.113.20", mapping: "endpoint-independent", filtering: "none" }),
    );
    net.addHost(inside.host, natA);
    const b = { host: "10.1.0.2", port: 4000 };
    net.addHost(b.host, natB).receive = (p) => got.push(Number(p.toString()));
    const got: number[] = [];
    const bPublic = natB.outbound(b, x); // b registered somewhere, so its port is mapped
    for (const ttl of [1, 2, 3, 4, 5, 6])
      net.send(inside.host, inside.port, Buffer.from(String(ttl)), bPublic, ttl);
    net.runUntil(100);
    expect(natA.counters.out).toBe(5); // TTL 1 died inside natA
    expect(natB.arrivals).toHaveLength(2); // TTL 5 and 6
    expect(got).toEqual([6]);
  });

  it("loops packets to the NAT's own address back inside only when it hairpins", () => {
    for (const hairpin of [false, true]) {
      const net = new SimNetwork();
      const n = net.addNat(
        new SimNat({ publicIp: "192.0.2.10", mapping: "endpoint-independent", filtering: "none", hairpin }),
      );
      net.addHost("10.0.0.2", n);
      let got = 0;
      net.addHost("10.0.0.3", n).receive = () => got++;
      const bPublic = n.outbound({ host: "10.0.0.3", port: 7 }, x);
      net.send("10.0.0.2", 7, Buffer.from("hi"), bPublic);
      net.runUntil(100);
      expect(got).toBe(hairpin ? 1 : 0);
    }
  });
});
