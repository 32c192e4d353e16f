/** The thin I/O edges of punching: LAN candidate gathering and TTL-limited sends on one socket. */
import { createSocket } from "node:dgram";
import type { NetworkInterfaceInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { gatherHostCandidates } from "../../src/punch/candidates.js";
import { type TtlSocket, UdpSender } from "../../src/punch/udp-adapter.js";

const iface = (address: string, family: "IPv4" | "IPv6", internal = false) =>
  ({ address, family, internal, netmask: "", mac: "", cidr: null, scopeid: 0 }) as NetworkInterfaceInfo;

const IFACES = {
  lo: [iface("127.0.0.1", "IPv4", true), iface("::1", "IPv6", true)],
  eth0: [iface("192.168.1.20", "IPv4"), iface("fe80::1", "IPv6"), iface("2001:db8::20", "IPv6")],
  wlan0: [iface("10.0.0.5", "IPv4"), iface("192.168.1.20", "IPv4")],
};

describe("gatherHostCandidates", () => {
  it("lists non-internal IPv4 addresses with the bound port by default", () => {
    expect(gatherHostCandidates(41641, { interfaces: IFACES })).toEqual([
      { kind: "host", endpoint: { host: "192.168.1.20", port: 41641 } },
      { kind: "host", endpoint: { host: "10.0.0.5", port: 41641 } },
    ]);
  });

  it("adds loopback and global IPv6 (never link-local) only when asked, IPv4 first", () => {
    const hosts = gatherHostCandidates(7, {
      interfaces: IFACES,
      includeLoopback: true,
      includeIPv6: true,
    }).map((c) => c.endpoint.host);
    expect(hosts).toEqual(["127.0.0.1", "192.168.1.20", "10.0.0.5", "::1", "2001:db8::20"]);
  });

  it("reads the real interfaces when none are given", () => {
    const real = gatherHostCandidates(9, { includeLoopback: true });
    expect(real.some((c) => c.endpoint.host === "127.0.0.1" && c.endpoint.port === 9)).toBe(true);
  });
});

/** Records the order of setTTL and send calls; completes sends when told to. */
class FakeSocket implements TtlSocket {
  readonly log: string[] = [];
  private readonly callbacks: Array<(e: Error | null) => void> = [];
  setTTL(ttl: number): number {
    this.log.push(`ttl ${ttl}`);
    return ttl;
  }
  send(msg: Buffer, port: number, _address: string, cb: (e: Error | null) => void): void {
    this.log.push(`send ${msg.toString()}:${port}`);
    this.callbacks.push(cb);
  }
  complete(): void {
    this.callbacks.shift()?.(null);
  }
}

describe("UdpSender", () => {
  it("holds other sends while a short-TTL send is in flight, then restores the default TTL", async () => {
    const s = new FakeSocket();
    const sender = new UdpSender(s, 64);
    const to = { host: "203.0.113.1", port: 1 };
    const primer = sender.send(Buffer.from("primer"), to, 2);
    const normal = sender.send(Buffer.from("data"), to);
    expect(s.log).toEqual(["ttl 2", "send primer:1"]);
    s.complete();
    await primer;
    expect(s.log).toEqual(["ttl 2", "send primer:1", "ttl 64", "send data:1"]);
    s.complete();
    await normal;
    expect(sender.counters).toMatchObject({ sent: 2, ttlSends: 1, errors: 0 });
  });

  it("lets earlier sends complete before it shortens the TTL (dgram sends a tick after send())", async () => {
    const s = new FakeSocket();
    const sender = new UdpSender(s, 64);
    const to = { host: "203.0.113.1", port: 1 };
    const ack = sender.send(Buffer.from("ack"), to);
    const primer = sender.send(Buffer.from("primer"), to, 2);
    const after = sender.send(Buffer.from("data"), to);
    // The ack is not out yet: the TTL must not change under it.
    expect(s.log).toEqual(["send ack:1"]);
    s.complete();
    await ack;
    expect(s.log).toEqual(["send ack:1", "ttl 2", "send primer:1"]);
    s.complete();
    await primer;
    expect(s.log).toEqual(["send ack:1", "ttl 2", "send primer:1", "ttl 64", "send data:1"]);
    s.complete();
    await after;
  });

  it("rejects and moves on when the socket cannot set the TTL", async () => {
    const s = new FakeSocket();
    s.setTTL = () => {
      throw new Error("EBADF");
    };
    const sender = new UdpSender(s);
    await expect(sender.send(Buffer.from("p"), { host: "203.0.113.1", port: 1 }, 2)).rejects.toThrow("EBADF");
    void sender.send(Buffer.from("q"), { host: "203.0.113.1", port: 1 });
    expect(s.log).toEqual(["send q:1"]);
  });

  it("post sends at once when nothing must go first, and queues behind a short-TTL send", () => {
    const s = new FakeSocket();
    const sender = new UdpSender(s, 64);
    const to = { host: "203.0.113.1", port: 1 };
    const outcomes: Array<string> = [];
    sender.post(Buffer.from("a"), to, undefined, (e) => outcomes.push(`a ${e?.message ?? "ok"}`));
    expect(s.log).toEqual(["send a:1"]);
    s.complete();
    expect(outcomes).toEqual(["a ok"]);
    sender.post(Buffer.from("primer"), to, 2);
    sender.post(Buffer.from("b"), to, undefined, (e) => outcomes.push(`b ${e?.message ?? "ok"}`));
    expect(s.log).toEqual(["send a:1", "ttl 2", "send primer:1"]);
    s.complete();
    expect(s.log).toEqual(["send a:1", "ttl 2", "send primer:1", "ttl 64", "send b:1"]);
    s.complete();
    expect(outcomes).toEqual(["a ok", "b ok"]);
    expect(sender.counters).toMatchObject({ sent: 3, ttlSends: 1, errors: 0 });
  });

  it("delivers a TTL-2 datagram over loopback and a normal one after it", async () => {
    const rx = createSocket("udp4");
    const tx = createSocket("udp4");
    try {
      await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
      await new Promise<void>((r) => tx.bind(0, "127.0.0.1", r));
      const got: string[] = [];
      const both = new Promise<void>((r) =>
        rx.on("message", (m) => {
          got.push(m.toString());
          if (got.length === 2) r();
        }),
      );
      const sender = new UdpSender(tx);
      const to = { host: "127.0.0.1", port: rx.address().port };
      await Promise.all([sender.send(Buffer.from("primer"), to, 2), sender.send(Buffer.from("data"), to)]);
      await both;
      expect(got).toEqual(["primer", "data"]);
    } finally {
      rx.close();
      tx.close();
    }
  });
});
