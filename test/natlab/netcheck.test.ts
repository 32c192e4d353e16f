/**
 * `p2ptun netcheck` run for real behind real Linux NATs (issue 6, "Seeing"): the CLI probes the
 * introducer's main and alternate ports from two sockets, and over TCP, and must tell an
 * endpoint-independent, port-preserving NAT (plain masquerade) from a symmetric one (masquerade
 * fully-random), a network that blocks UDP, and no NAT at all — in JSON and in words that say
 * what each means for punching.
 */
import { expect, it } from "vitest";
import { CLI } from "../../src/demo/processes.js";
import type { NetcheckReport, Observations } from "../../src/netcheck/verdict.js";
import {
  describeNatlab,
  failOnLeftoverNamespaces,
  INTRODUCER_IP,
  type LabHost,
  useLab,
  waitUntil,
} from "./lab.js";
import { INTRODUCER_PORT, type P2pWorld, useP2pWorld } from "./p2p-world.js";

failOnLeftoverNamespaces();

type Report = NetcheckReport & { observations: Observations };

async function netcheck(host: LabHost, config: string, json: boolean) {
  const r = await host.exec([process.execPath, CLI, "netcheck", ...(json ? ["--json"] : []), "-c", config], {
    timeoutMs: 20_000,
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the world's introducer and waits until it listens. */
async function startIntroducer(w: P2pWorld): Promise<void> {
  w.startIntroducer();
  await waitUntil(
    async () => /introducer listening/.test(w.log("introducer")),
    "the introducer to listen",
    10_000,
  );
}

const MAIN = `${INTRODUCER_IP}:${INTRODUCER_PORT}`;
const ALT = `${INTRODUCER_IP}:${INTRODUCER_PORT + 1}`;

describeNatlab("netcheck: endpoint-independent NAT (a) and symmetric NAT (b)", () => {
  const ctx = useLab({ a: { nat: "eim" }, b: { nat: "symmetric" } });
  const env = useP2pWorld(ctx, startIntroducer);

  it("behind plain masquerade: endpoint-independent, port preserved, punching should work", async () => {
    const r = await netcheck(ctx.lab.a, env.w.world.joeConfig, true);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({
      reachable: true,
      udp: true,
      tcp: true,
      behindNat: true,
      portPreserved: true,
      mappingVariesByDestination: false,
      mapping: "endpoint-independent",
      verdict: "ok",
    });
    const natIp = ctx.lab.natPublicIp("a");
    // Two sockets, each seen at its own local port on the NAT's address, by both destinations.
    expect(report.observations.udp).toHaveLength(4);
    for (const u of report.observations.udp) {
      expect(u.observed).toEqual({ host: natIp, port: u.localPort });
      expect([MAIN, ALT]).toContain(u.destination);
    }
    expect(report.publicEndpoints).toHaveLength(2);
    expect(report.tcpPublicEndpoints[0]).toMatch(new RegExp(`^${natIp.replaceAll(".", "\\.")}:\\d+$`));

    const text = await netcheck(ctx.lab.a, env.w.world.joeConfig, false);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("* Behind NAT: yes");
    expect(text.stdout).toContain("* NAT keeps the local port: yes");
    expect(text.stdout).toContain("* Mapping varies by destination: no (endpoint-independent)");
    expect(text.stdout).toMatch(/UDP hole punching should work with most peers/);
  });

  it("behind masquerade fully-random: mapping varies by destination, and it says punching will mostly fail", async () => {
    const r = await netcheck(ctx.lab.b, env.w.world.bobConfig, true);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({
      reachable: true,
      udp: true,
      behindNat: true,
      portPreserved: false,
      mappingVariesByDestination: true,
      mapping: "endpoint-dependent",
      verdict: "hard-nat",
    });
    const natIp = ctx.lab.natPublicIp("b");
    for (const u of report.observations.udp) expect(u.observed?.host).toBe(natIp);
    // Every flow got its own public port.
    expect(new Set(report.observations.udp.map((u) => u.observed?.port)).size).toBe(4);

    const text = await netcheck(ctx.lab.b, env.w.world.bobConfig, false);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("* Mapping varies by destination: yes (endpoint-dependent)");
    expect(text.stdout).toMatch(/gives each destination its own public port \(a symmetric NAT\)/);
    expect(text.stdout).toMatch(/with a peer behind a typical home router it fails/);
  });
});

describeNatlab("netcheck: UDP blocked (a) and no NAT (b)", () => {
  const ctx = useLab({ a: { nat: "udp-blocked" }, b: { nat: "public" } });
  const env = useP2pWorld(ctx, startIntroducer);

  it("UDP blocked: only TCP gets out, and it says p2ptun will use TCP", async () => {
    const r = await netcheck(ctx.lab.a, env.w.world.joeConfig, true);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({ reachable: true, udp: false, tcp: true, verdict: "udp-blocked" });
    expect(report.publicEndpoints).toEqual([]);
    expect(report.tcpPublicEndpoints[0]).toMatch(
      new RegExp(`^${ctx.lab.natPublicIp("a").replaceAll(".", "\\.")}:`),
    );
    const text = await netcheck(ctx.lab.a, env.w.world.joeConfig, false);
    expect(text.stdout).toContain("* UDP: false");
    expect(text.stdout).toMatch(/UDP does not get out of this network, but TCP does/);
  });

  it("a public address: no NAT, and it says peers can reach this machine directly", async () => {
    const r = await netcheck(ctx.lab.b, env.w.world.bobConfig, true);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({
      udp: true,
      tcp: true,
      behindNat: false,
      portPreserved: true,
      verdict: "ok",
    });
    expect(report.publicEndpoints[0]).toMatch(new RegExp(`^${ctx.lab.b.ip.replaceAll(".", "\\.")}:`));
    const text = await netcheck(ctx.lab.b, env.w.world.bobConfig, false);
    expect(text.stdout).toContain("* Behind NAT: no");
    expect(text.stdout).toMatch(/public address \(no NAT\)/);
  });

  it("no introducer: exit code 1 and a summary that says what to check", async () => {
    await env.w.stop("introducer");
    const r = await netcheck(ctx.lab.a, env.w.world.joeConfig, false);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/No introducer answered over UDP or TCP/);
  });
});
