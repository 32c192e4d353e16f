/** What a punch attempt concludes about the NATs from what it saw. */
import { describe, expect, it } from "vitest";
import { describeNat, type NatObservations } from "../../src/punch/nat-hint.js";

const OUR_SRFLX = { host: "192.0.2.10", port: 41641 };
const PEER_SRFLX = { host: "203.0.113.20", port: 41641 };
const base: NatObservations = {
  ourSrflx: OUR_SRFLX,
  peerSrflx: [PEER_SRFLX],
  observedSelf: [],
  pingSources: [],
  pingsSent: 30,
  pingsReceived: 0,
  pongsReceived: 0,
  candidatesTried: 2,
};

describe("describeNat", () => {
  it("sees endpoint-independent mapping on both sides when the ports match the introducer's", () => {
    const h = describeNat({
      ...base,
      observedSelf: [OUR_SRFLX],
      pingSources: [PEER_SRFLX],
      pingsReceived: 3,
      pongsReceived: 2,
    });
    expect(h).toEqual({
      ours: "endpoint-independent",
      peer: "endpoint-independent",
      summary: "Nothing unusual was seen about either NAT.",
    });
  });

  it("names our symmetric NAT when the peer saw another port than the introducer", () => {
    const h = describeNat({
      ...base,
      observedSelf: [{ host: "192.0.2.10", port: 50_001 }],
      pongsReceived: 1,
    });
    expect(h.ours).toBe("endpoint-dependent");
    expect(h.summary).toContain(
      "Our NAT used port 50001 towards the peer but port 41641 towards the introducer",
    );
  });

  it("names the peer's symmetric NAT when its pings come from another port than the introducer saw", () => {
    const h = describeNat({
      ...base,
      pingSources: [{ host: "203.0.113.20", port: 60_000 }],
      pingsReceived: 1,
    });
    expect(h.peer).toBe("endpoint-dependent");
    expect(h.summary).toMatch(/^The peer's pings reached us \(1\).*filters what we send\./);
    expect(h.summary).toContain("The peer's pings came from 203.0.113.20:60000");
  });

  it("says that nothing got through, and what usually causes it, when nothing did", () => {
    const h = describeNat(base);
    expect(h.ours).toBe("unknown");
    expect(h.peer).toBe("unknown");
    expect(h.summary).toMatch(
      /^No packet from the peer arrived on any of 2 candidate.*30 pings.*symmetric NAT/,
    );
  });

  it("uses what an earlier path taught about our NAT when this attempt saw nothing", () => {
    const h = describeNat({ ...base, knownOurs: "endpoint-dependent" });
    expect(h.ours).toBe("endpoint-dependent");
    expect(h.summary).toContain("Our NAT is known (from an earlier path) to map each destination");
  });

  it("does not judge from LAN observations or other addresses", () => {
    const h = describeNat({ ...base, observedSelf: [{ host: "10.0.0.2", port: 9 }], pongsReceived: 1 });
    expect(h.ours).toBe("unknown");
    expect(describeNat({ ...base, ourSrflx: undefined, observedSelf: [OUR_SRFLX] }).ours).toBe("unknown");
  });
});
