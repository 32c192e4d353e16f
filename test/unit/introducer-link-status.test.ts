import { describe, expect, it } from "vitest";
import { IntroducerLink } from "../../src/daemon/introducer-link.js";
import type { Source } from "../../src/introducer/core.js";
import { systemClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/logger.js";
import { introducerKeys, keys, makeCore } from "./introducer-fixtures.js";

const INTRODUCER = { host: "127.0.0.1", port: 2345 };
const JOE_PUBLIC: Source = { endpoint: { host: "198.51.100.7", port: 40001 }, transport: "udp" };

/** joe's IntroducerLink wired to an in-process introducer core (no sockets), claiming `name`. */
function joeLink(name: string) {
  const core = makeCore();
  const link: IntroducerLink = new IntroducerLink({
    address: INTRODUCER,
    publicKey: introducerKeys.publicKey,
    name,
    privateKey: keys.joe.privateKey,
    lanCandidates: [],
    accepts: () => null,
    clock: systemClock,
    logger: silentLogger,
    sendUdp: (packet) => {
      for (const a of core.handle(packet, JOE_PUBLIC, systemClock.now())) link.handle(a.packet);
    },
    onEvent: () => {},
  });
  return link;
}

describe("IntroducerLink status", () => {
  it("says why the introducer refused our registration; a registered link reports no refusal", async () => {
    const refused = joeLink("joey");
    await refused.start();
    const s = refused.status(systemClock.now());
    expect(s.registered).toBe(false);
    expect(s.refused).toBe('NAME_MISMATCH: this key is configured as "joe" on this introducer, not "joey"');
    refused.close();

    const accepted = joeLink("joe");
    await accepted.start();
    expect(accepted.status(systemClock.now())).toMatchObject({ registered: true, refused: null });
    accepted.close();
  });
});
