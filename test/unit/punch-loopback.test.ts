/**
 * The demo's setting with real sockets: two punchers on 127.0.0.1, each with its own UDP socket,
 * real timers and the system clock, candidates as the daemon builds them (the introducer's view,
 * which on loopback is 127.0.0.1:port, plus gathered loopback host candidates).
 */
import { createSocket, type Socket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { generateKeyPair, type KeyPair } from "../../src/crypto/primitives.js";
import { gatherHostCandidates } from "../../src/punch/candidates.js";
import { DiscoChannel } from "../../src/punch/disco-channel.js";
import { UdpSender } from "../../src/punch/udp-adapter.js";
import { type PunchOutput, UdpPuncher } from "../../src/punch/udp-puncher.js";
import { systemClock } from "../../src/util/clock.js";

type Result = Extract<PunchOutput, { type: "connected" | "failed" }>;

/** A thin adapter: socket → handle(), core timer → setTimeout, outputs → sender. */
function drive(socket: Socket, puncher: UdpPuncher): Promise<Result> {
  const sender = new UdpSender(socket);
  let timer: NodeJS.Timeout | undefined;
  return new Promise((resolve) => {
    const apply = (outs: PunchOutput[]) => {
      for (const o of outs) {
        if (o.type === "send") sender.send(o.packet, o.to, o.ttl).catch(() => {});
        else resolve(o);
      }
      clearTimeout(timer);
      const at = puncher.nextTimer();
      if (at !== undefined)
        timer = setTimeout(() => apply(puncher.tick(systemClock.now())), Math.max(0, at - systemClock.now()));
    };
    socket.on("message", (msg, rinfo) =>
      apply(puncher.handle(msg, { host: rinfo.address, port: rinfo.port }, systemClock.now())),
    );
    apply(puncher.start(systemClock.now()));
  });
}

const bound = () =>
  new Promise<Socket>((resolve) => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1", () => resolve(s));
  });

const channel = (me: KeyPair, peer: KeyPair) =>
  new DiscoChannel(
    new StaticBox(me.privateKey, me.publicKey, peer.publicKey, "disco"),
    me.publicKey,
    peer.publicKey,
  );

describe("punching on loopback with real sockets", () => {
  it("both sides connect on the loopback host candidate", async () => {
    const [sa, sb] = await Promise.all([bound(), bound()]);
    try {
      const [ka, kb] = [generateKeyPair(), generateKeyPair()];
      const cands = (s: Socket) => [
        { kind: "srflx" as const, endpoint: { host: "127.0.0.1", port: s.address().port } },
        ...gatherHostCandidates(s.address().port, { includeLoopback: true }),
      ];
      const startAt = systemClock.now() + 50;
      const [ra, rb] = await Promise.all([
        drive(sa, new UdpPuncher(channel(ka, kb), cands(sb), startAt)),
        drive(sb, new UdpPuncher(channel(kb, ka), cands(sa), startAt)),
      ]);
      expect(ra).toMatchObject({
        type: "connected",
        candidateKind: "host",
        endpoint: { host: "127.0.0.1", port: sb.address().port },
      });
      expect(rb).toMatchObject({
        type: "connected",
        candidateKind: "host",
        endpoint: { host: "127.0.0.1", port: sa.address().port },
      });
      if (ra.type !== "connected") throw new Error("unreachable");
      expect(ra.observedSelf).toEqual({ host: "127.0.0.1", port: sa.address().port });
    } finally {
      sa.close();
      sb.close();
    }
  });
});
