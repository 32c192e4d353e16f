/**
 * netcheck's verdict (src/netcheck/verdict.ts) from observations, as tables: NAT kinds seen from
 * two local sockets towards the introducer's main and alternate ports, plus TCP.
 */
import { describe, expect, it } from "vitest";
import {
  judge,
  type Observations,
  renderReport,
  SUMMARIES,
  type TcpProbeResult,
  type UdpProbeResult,
} from "../../src/netcheck/verdict.js";

const INTRO = "198.51.100.2:2345";
const MAIN = "198.51.100.2:2345";
const ALT = "198.51.100.2:2346";
const LOCAL = ["127.0.0.1", "10.0.1.2"];
const NAT_IP = "203.0.113.2";

/** One UDP answer: socket `socket` (local port `localPort`) seen by `dest` from `seenPort` (null = no answer). */
function udp(
  socket: number,
  localPort: number,
  dest: string,
  seenPort: number | null,
  host = NAT_IP,
): UdpProbeResult {
  return {
    socket,
    localPort,
    introducer: INTRO,
    destination: dest,
    alternate: dest === ALT,
    observed: seenPort === null ? null : { host, port: seenPort },
    rttMs: seenPort === null ? null : 3,
  };
}

function tcp(seenPort: number | null, host = NAT_IP): TcpProbeResult {
  return {
    introducer: INTRO,
    destination: MAIN,
    localPort: 40000,
    observed: seenPort === null ? null : { host, port: seenPort },
    rttMs: seenPort === null ? null : 3,
    error: seenPort === null ? "ECONNREFUSED" : null,
  };
}

function obs(
  udpResults: UdpProbeResult[],
  tcpResults: TcpProbeResult[],
  localAddresses = LOCAL,
): Observations {
  return { udp: udpResults, tcp: tcpResults, localAddresses, unresolved: [] };
}

describe("netcheck verdict", () => {
  it("endpoint-independent, port-preserving NAT (plain masquerade): ok", () => {
    const r = judge(
      obs(
        [
          udp(0, 5000, MAIN, 5000),
          udp(0, 5000, ALT, 5000),
          udp(1, 6000, MAIN, 6000),
          udp(1, 6000, ALT, 6000),
        ],
        [tcp(40000)],
      ),
    );
    expect(r).toMatchObject({
      reachable: true,
      udp: true,
      tcp: true,
      behindNat: true,
      portPreserved: true,
      mappingVariesByDestination: false,
      mapping: "endpoint-independent",
      verdict: "ok",
      summary: SUMMARIES["ok-eim"],
      publicEndpoints: [`${NAT_IP}:5000`, `${NAT_IP}:6000`],
      tcpPublicEndpoints: [`${NAT_IP}:40000`],
    });
    expect(r.notes).toEqual([]);
  });

  it("endpoint-independent but not port-preserving: still ok, with a note that the port change is harmless", () => {
    const r = judge(
      obs(
        [
          udp(0, 5000, MAIN, 1111),
          udp(0, 5000, ALT, 1111),
          udp(1, 6000, MAIN, 2222),
          udp(1, 6000, ALT, 2222),
        ],
        [tcp(1)],
      ),
    );
    expect(r).toMatchObject({ portPreserved: false, mapping: "endpoint-independent", verdict: "ok" });
    expect(r.notes.join(" ")).toMatch(/changes the local port but keeps one mapping/);
  });

  it("symmetric NAT (masquerade fully-random): hard-nat, and says what that means for punching", () => {
    const r = judge(
      obs(
        [
          udp(0, 5000, MAIN, 31000),
          udp(0, 5000, ALT, 42000),
          udp(1, 6000, MAIN, 17000),
          udp(1, 6000, ALT, 9000),
        ],
        [tcp(50000)],
      ),
    );
    expect(r).toMatchObject({
      behindNat: true,
      portPreserved: false,
      mappingVariesByDestination: true,
      mapping: "endpoint-dependent",
      verdict: "hard-nat",
      summary: SUMMARIES["hard-nat"],
    });
    expect(r.summary).toMatch(/each destination its own public port/);
    expect(r.summary).toMatch(/punching works only with peers/);
    expect(r.notes.join(" ")).toMatch(/TCP fallback is likely to fail/);
    expect(r.publicEndpoints).toHaveLength(4);
  });

  it("one socket varying is enough to call the mapping endpoint-dependent", () => {
    const r = judge(
      obs(
        [
          udp(0, 5000, MAIN, 5000),
          udp(0, 5000, ALT, 5000),
          udp(1, 6000, MAIN, 6000),
          udp(1, 6000, ALT, 6001),
        ],
        [],
      ),
    );
    expect(r.mapping).toBe("endpoint-dependent");
    expect(r.verdict).toBe("hard-nat");
  });

  it("the alternate port does not answer: mapping unknown, still ok, and the note says why", () => {
    const r = judge(
      obs(
        [
          udp(0, 5000, MAIN, 5000),
          udp(0, 5000, ALT, null),
          udp(1, 6000, MAIN, 6000),
          udp(1, 6000, ALT, null),
        ],
        [tcp(40000)],
      ),
    );
    expect(r).toMatchObject({
      mapping: "unknown",
      mappingVariesByDestination: null,
      portPreserved: true,
      verdict: "ok",
    });
    expect(r.summary).toBe(SUMMARIES["ok-unknown"]);
    expect(r.notes.join(" ")).toMatch(/alternate port.*did not answer/);
  });

  it("no NAT: the introducer sees one of our own addresses", () => {
    const r = judge(
      obs(
        [udp(0, 5000, MAIN, 5000, "203.0.113.18"), udp(0, 5000, ALT, 5000, "203.0.113.18")],
        [tcp(40000, "203.0.113.18")],
        [...LOCAL, "203.0.113.18"],
      ),
    );
    expect(r).toMatchObject({
      behindNat: false,
      portPreserved: true,
      verdict: "ok",
      summary: SUMMARIES["ok-no-nat"],
    });
  });

  it("UDP blocked, TCP gets out: udp-blocked", () => {
    const r = judge(obs([udp(0, 5000, MAIN, null), udp(0, 5000, ALT, null)], [tcp(40000)]));
    expect(r).toMatchObject({
      reachable: true,
      udp: false,
      tcp: true,
      verdict: "udp-blocked",
      portPreserved: null,
      mapping: "unknown",
      summary: SUMMARIES["udp-blocked"],
    });
    expect(r.tcpPublicEndpoints).toEqual([`${NAT_IP}:40000`]);
  });

  it("UDP gets out, TCP does not: ok, with a note that there is no TCP fallback", () => {
    const r = judge(obs([udp(0, 5000, MAIN, 5000), udp(0, 5000, ALT, 5000)], [tcp(null)]));
    expect(r).toMatchObject({ udp: true, tcp: false, verdict: "ok" });
    expect(r.notes.join(" ")).toMatch(/no TCP fallback/);
  });

  it("nothing answers: unreachable, with the TCP errors", () => {
    const r = judge({
      ...obs([udp(0, 5000, MAIN, null)], [tcp(null)]),
      unresolved: [{ introducer: "intro.example:2345", error: "ENOTFOUND" }],
    });
    expect(r).toMatchObject({
      reachable: false,
      udp: false,
      tcp: false,
      behindNat: null,
      verdict: "unreachable",
    });
    expect(r.notes.join(" ")).toMatch(/Cannot resolve introducer intro\.example:2345: ENOTFOUND/);
    expect(r.notes.join(" ")).toMatch(/TCP: ECONNREFUSED/);
  });

  it("IPv4-mapped IPv6 observations count as the same endpoint", () => {
    const r = judge(obs([udp(0, 5000, MAIN, 5000), udp(0, 5000, ALT, 5000, `::ffff:${NAT_IP}`)], []));
    expect(r.mapping).toBe("endpoint-independent");
    expect(r.publicEndpoints).toEqual([`${NAT_IP}:5000`]);
  });

  it("the human report lists the facts, every probe, and the summary", () => {
    const o = obs([udp(0, 5000, MAIN, 31000), udp(0, 5000, ALT, 42000)], [tcp(null)]);
    const text = renderReport(judge(o), o);
    expect(text).toContain("* UDP: true");
    expect(text).toContain("* TCP: false");
    expect(text).toContain("* Behind NAT: yes");
    expect(text).toContain("* NAT keeps the local port: no");
    expect(text).toContain("* Mapping varies by destination: yes (endpoint-dependent)");
    expect(text).toContain(`udp socket 0 :5000 → ${ALT} (alternate): ${NAT_IP}:42000 in 3 ms`);
    expect(text).toContain(`tcp :40000 → ${MAIN}: ECONNREFUSED`);
    expect(text).toContain(SUMMARIES["hard-nat"]);
  });
});
