/**
 * The daemon's UDP socket: a datagram to an IP literal is in the kernel when send() returns (no
 * lookup tick in between: the reliable channel's packets leave before the rest of its flush
 * runs), and send errors are counted instead of thrown.
 */
import { createSocket, type Socket } from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { UdpEndpoint } from "../../src/daemon/udp-endpoint.js";
import { literalLookup } from "../../src/util/literal-lookup.js";

/** Bytes waiting in the receive queue of the UDP socket bound to 127.0.0.1:port (Linux /proc). */
function rxQueue(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) return Number.parseInt(f[4].split(":")[1], 16);
  }
  throw new Error(`no UDP socket on 127.0.0.1:${port}`);
}

describe("literalLookup", () => {
  it("answers IP literals synchronously", () => {
    const got: Array<[string, number]> = [];
    literalLookup("127.0.0.1", { family: 4 }, (_e, a, f) => got.push([a, f]));
    literalLookup("::1", { family: 6 }, (_e, a, f) => got.push([a, f]));
    expect(got).toEqual([
      ["127.0.0.1", 4],
      ["::1", 6],
    ]);
  });

  it("hands names to dns.lookup", async () => {
    let sync = true;
    const answer = new Promise<[Error | null, string]>((resolve) =>
      literalLookup("localhost", { family: 4 }, (e, a) => resolve([e, a])),
    );
    sync = false;
    const [err, addr] = await answer;
    expect(sync).toBe(false);
    expect(err).toBeNull();
    expect(addr).toBe("127.0.0.1");
  });
});

/** A receiving socket and a UdpEndpoint on 127.0.0.1, closed after `body` whatever it does. */
async function withReceiver(
  body: (ep: UdpEndpoint, rx: Socket, port: number) => Promise<void>,
): Promise<void> {
  const rx = createSocket("udp4");
  await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
  const ep = await UdpEndpoint.bind({ host: "127.0.0.1", port: 0 });
  try {
    await body(ep, rx, rx.address().port);
  } finally {
    rx.close();
    await ep.close();
  }
}

// Skipped only where /proc/net/udp does not exist (not Linux): the first test reads the
// receiver's kernel queue from it. CI runs on Linux, where these always run.
describe.skipIf(!existsSync("/proc/net/udp"))("UdpEndpoint.send", () => {
  it("puts a datagram for an IP literal in the kernel before send() returns", () =>
    withReceiver(async (ep, rx, port) => {
      expect(rxQueue(port)).toBe(0);
      ep.send(Buffer.alloc(100, 7), { host: "127.0.0.1", port });
      // Synchronously after send(): the kernel already queued it at the receiver.
      expect(rxQueue(port)).toBeGreaterThan(0);
      const got = await new Promise<Buffer>((r) => rx.once("message", r));
      expect(got).toEqual(Buffer.alloc(100, 7));
    }));

  it("sends a datagram given in pieces as one datagram, the pieces' bytes in order", () =>
    withReceiver(async (ep, rx, port) => {
      // A session DATA packet: header, ciphertext and tag from three separate allocations.
      const pieces = [Buffer.alloc(13, 1), Buffer.alloc(1200, 2), Buffer.alloc(16, 3)];
      ep.send(pieces, { host: "127.0.0.1", port });
      const got = await new Promise<Buffer>((r) => rx.once("message", r));
      expect(got).toEqual(Buffer.concat(pieces));
    }));

  it("counts send errors without throwing", () =>
    withReceiver(async (ep, _rx, port) => {
      // Too big for UDP: the kernel refuses (EMSGSIZE), the endpoint counts it.
      ep.send(Buffer.alloc(70_000), { host: "127.0.0.1", port });
      await new Promise((r) => setTimeout(r, 20));
      expect(ep.counters.sendErrors).toBe(1);
    }));
});
