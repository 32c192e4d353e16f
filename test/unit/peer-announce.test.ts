/**
 * A Peer that no forward uses (not wanted) still asks for one introduction after the daemon's
 * first registration, so a peer holding a tunnel to our previous process learns our new endpoint
 * at once; when that fails (the peer is not registered) it stays idle, with no retries. And a
 * connected peer re-punches when our own public endpoint changes.
 */
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/crypto/keys.js";
import { Peer, type PeerIo } from "../../src/daemon/peer.js";
import { INTRODUCTION_TIMEOUT_MS, RETRY_MAX_MS } from "../../src/daemon/peer-constants.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/logger.js";

function makePeer(wanted: boolean, registered = true) {
  const clock = new ManualClock(0);
  const io = { introductions: 0, registered };
  const pio: PeerIo = {
    sendUdp: () => {},
    sendPayload: () => {},
    connectSession: () => {},
    requestIntroduction: () => {
      if (!io.registered) return false;
      io.introductions++;
      return true;
    },
    ourSrflx: () => undefined,
    rearm: () => {},
  };
  const keys = { ours: generateKeyPair(), theirs: generateKeyPair() };
  const peer = new Peer({
    name: "joe",
    publicKey: keys.theirs.publicKey,
    ourPrivate: keys.ours.privateKey,
    ourPublic: keys.ours.publicKey,
    wanted,
    primerTtl: 2,
    clock,
    logger: silentLogger,
    io: pio,
    onStream: (_p, req) => req.reject(1, "no"),
  });
  return { peer, io, clock };
}

describe("Peer announcement after start", () => {
  it("asks once for an unwanted peer, waiting for a registration; a refusal leaves it idle", () => {
    const { peer, io, clock } = makePeer(false, false);
    peer.maybeConnect(clock.now());
    expect(io.introductions).toBe(0);
    expect(peer.state).toBe("idle"); // not "connecting": nothing of ours wants this peer
    io.registered = true;
    peer.maybeConnect(clock.now());
    expect(io.introductions).toBe(1);
    expect(peer.state).toBe("idle");
    expect(peer.isAnnouncing).toBe(true); // the daemon logs the refusal at debug, not warn
    peer.onRefused("joe is not registered", clock.now());
    expect(peer.isAnnouncing).toBe(false);
    expect(peer.state).toBe("idle");
    for (let t = 0; t < 3 * RETRY_MAX_MS; t += 1000) {
      clock.advance(1000);
      peer.tick(clock.now());
      peer.maybeConnect(clock.now());
    }
    expect(io.introductions).toBe(1);
    expect(peer.state).toBe("idle");
  });

  it("an unanswered announcement times out quietly", () => {
    const { peer, io, clock } = makePeer(false);
    peer.maybeConnect(clock.now());
    clock.advance(INTRODUCTION_TIMEOUT_MS + 1);
    peer.tick(clock.now());
    expect(peer.state).toBe("idle");
    expect(peer.nextTimer()).toBeUndefined();
    expect(io.introductions).toBe(1);
  });

  it("a wanted peer fails and retries as before", () => {
    const { peer, io, clock } = makePeer(true);
    peer.maybeConnect(clock.now());
    expect(peer.state).toBe("connecting");
    peer.onRefused("joe is not registered", clock.now());
    expect(peer.state).toBe("failed");
    clock.advance(RETRY_MAX_MS * 2);
    peer.tick(clock.now());
    expect(io.introductions).toBe(2);
  });

  it("our endpoint changing asks for an introduction only while connected", () => {
    const { peer, io, clock } = makePeer(true);
    peer.onOurEndpointChanged();
    expect(io.introductions).toBe(0);
    peer.onEstablished({ host: "203.0.113.66", port: 5000 }, clock.now());
    expect(peer.state).toBe("connected");
    peer.onOurEndpointChanged();
    expect(io.introductions).toBe(1);
    peer.close();
  });
});
