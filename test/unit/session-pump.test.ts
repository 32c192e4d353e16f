/**
 * SessionPump schedules the preparation of the next packets' ciphers off the packets' way. After
 * a send made in the check phase (a channel flush), an immediate would run only on the next turn
 * of the event loop, costing a turn per packet sent; the preparation must run before anything
 * else of this turn instead.
 */
import { describe, expect, it, vi } from "vitest";
import { generateX25519 } from "../../src/crypto/noise/x25519.js";
import { SessionPump } from "../../src/daemon/session-pump.js";
import { ManualClock } from "../../src/util/clock.js";

function pumpWithPeer() {
  const me = generateX25519();
  const peer = generateX25519();
  const pump = new SessionPump(
    { privateKey: me.privateKey, peers: [peer.publicKey], clock: new ManualClock(1_000) },
    () => {},
    () => {},
  );
  pump.connect(peer.publicKey, { host: "127.0.0.1", port: 9 });
  return { pump, peer: peer.publicKey, prepare: vi.spyOn(pump.manager, "prepareNext") };
}

describe("SessionPump", () => {
  it("prepares ciphers right after a send in the check phase, not on the next loop turn", async () => {
    const { pump, peer, prepare } = pumpWithPeer();
    const seen = await new Promise<number>((resolve) =>
      setImmediate(() => {
        pump.send(peer, Buffer.from("payload"));
        // Runs after this callback's next-tick queue; an immediate would come only later.
        queueMicrotask(() => resolve(prepare.mock.calls.length));
      }),
    );
    expect(seen).toBe(1);
    pump.close();
  });

  it("prepares once per burst of sends", async () => {
    const { pump, peer, prepare } = pumpWithPeer();
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        for (let i = 0; i < 10; i++) pump.send(peer, Buffer.from("payload"));
        setImmediate(resolve);
      }),
    );
    expect(prepare).toHaveBeenCalledTimes(1);
    pump.close();
  });
});
