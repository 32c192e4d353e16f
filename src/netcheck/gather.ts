/**
 * Netcheck's thin socket part: PROBEs every introducer (its port and its alternate port, listen
 * port + 1) from SOCKETS ephemeral UDP sockets, and over one TCP connection each, then hands
 * the observations to `judge` (./verdict.ts). It never uses the daemon's socket or registers,
 * so it works the same whether a daemon runs or not.
 */
import { randomInt } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { connect, isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { FrameDecoder, frame } from "../introducer/tcp-frames.js";
import { type Endpoint, formatEndpoint, normalizeIp, sameEndpoint } from "../util/addr.js";
import { MAX_PACKET_LEN } from "../wire/introducer.js";
import { NetcheckProbeClient } from "./probe-client.js";
import type { Observations, TcpProbeResult, UdpProbeResult } from "./verdict.js";

/** Local UDP sockets per address family: two, so port preservation is seen on more than one. */
export const SOCKETS = 2;
/** Unanswered PROBEs are repeated at these times (ms after the first); answers count until TIMEOUT_MS. */
export const RETRY_AT_MS = [300, 800, 1500];
export const TIMEOUT_MS = 2500;

export interface NetcheckIntroducer {
  /** As configured, for the report. */
  label: string;
  address: Endpoint;
  publicKey: Buffer;
}

export interface GatherOptions {
  privateKey: Buffer;
  introducers: NetcheckIntroducer[];
  timeoutMs?: number;
  /** Probe the alternate port too (default true). */
  alternate?: boolean;
}

interface Target {
  introducer: NetcheckIntroducer;
  client: NetcheckProbeClient;
  endpoint: Endpoint;
  alternate: boolean;
}

export async function gatherObservations(o: GatherOptions): Promise<Observations> {
  const timeoutMs = o.timeoutMs ?? TIMEOUT_MS;
  const unresolved: { introducer: string; error: string }[] = [];
  const resolved: { intro: NetcheckIntroducer; ip: string; client: NetcheckProbeClient }[] = [];
  for (const intro of o.introducers) {
    try {
      const ip = isIP(intro.address.host) ? intro.address.host : (await lookup(intro.address.host)).address;
      resolved.push({
        intro,
        ip: normalizeIp(ip),
        client: new NetcheckProbeClient(o.privateKey, intro.publicKey, Date.now()),
      });
    } catch (e) {
      unresolved.push({ introducer: intro.label, error: (e as Error).message });
    }
  }
  const targets: Target[] = [];
  for (const r of resolved) {
    targets.push({
      introducer: r.intro,
      client: r.client,
      endpoint: { host: r.ip, port: r.intro.address.port },
      alternate: false,
    });
    if (o.alternate !== false && r.intro.address.port < 65535)
      targets.push({
        introducer: r.intro,
        client: r.client,
        endpoint: { host: r.ip, port: r.intro.address.port + 1 },
        alternate: true,
      });
  }
  const [udp, tcp] = await Promise.all([
    probeUdp(targets, timeoutMs),
    Promise.all(
      resolved.map((r) => probeTcp(r.intro, r.client, { host: r.ip, port: r.intro.address.port }, timeoutMs)),
    ),
  ]);
  return { udp, tcp, localAddresses: localAddresses(), unresolved };
}

function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) out.push(normalizeIp(a.address));
  return out;
}

async function probeUdp(targets: Target[], timeoutMs: number): Promise<UdpProbeResult[]> {
  const families = [...new Set(targets.map((t) => (isIP(t.endpoint.host) === 6 ? 6 : 4)))];
  const sockets: { sock: UdpSocket; family: 4 | 6; index: number; port: number }[] = [];
  try {
    for (const family of families)
      for (let index = 0; index < SOCKETS; index++) {
        const sock = createSocket({ type: family === 6 ? "udp6" : "udp4" });
        sock.on("error", () => {}); // an ICMP-induced error on one send must not end the run
        await new Promise<void>((resolve, reject) => {
          sock.once("error", reject);
          sock.bind(0, () => {
            sock.off("error", reject);
            resolve();
          });
        });
        sockets.push({ sock, family, index, port: sock.address().port });
      }

    const results: UdpProbeResult[] = [];
    const pending: {
      result: UdpProbeResult;
      target: Target;
      sock: UdpSocket;
      txid: number;
      sentAt: number;
    }[] = [];
    for (const s of sockets)
      for (const t of targets) {
        if ((isIP(t.endpoint.host) === 6 ? 6 : 4) !== s.family) continue;
        const result: UdpProbeResult = {
          socket: s.index,
          localPort: s.port,
          introducer: t.introducer.label,
          destination: formatEndpoint(t.endpoint),
          alternate: t.alternate,
          observed: null,
          rttMs: null,
        };
        results.push(result);
        pending.push({ result, target: t, sock: s.sock, txid: randomInt(1, 0xffffffff), sentAt: 0 });
      }

    const started = performance.now();
    const send = (p: (typeof pending)[number]) => {
      p.sentAt = performance.now();
      p.sock.send(p.target.client.probe(p.txid), p.target.endpoint.port, p.target.endpoint.host, () => {});
    };
    await new Promise<void>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const finish = () => {
        for (const t of timers) clearTimeout(t);
        resolve();
      };
      const unanswered = () => pending.filter((p) => p.result.observed === null);
      for (const s of sockets)
        s.sock.on("message", (msg, rinfo) => {
          const from = { host: normalizeIp(rinfo.address), port: rinfo.port };
          for (const p of unanswered()) {
            if (p.sock !== s.sock || !sameEndpoint(p.target.endpoint, from)) continue;
            const ans = p.target.client.open(msg);
            if (ans === null || ans.txid !== p.txid) continue;
            p.result.observed = { host: normalizeIp(ans.observed.host), port: ans.observed.port };
            // Measured from the latest send; a repeat answered for an earlier one errs on the short side.
            p.result.rttMs = Math.round(performance.now() - p.sentAt);
            break;
          }
          if (unanswered().length === 0) finish();
        });
      for (const p of pending) send(p);
      for (const at of RETRY_AT_MS)
        if (at < timeoutMs)
          timers.push(
            setTimeout(() => unanswered().forEach(send), Math.max(0, at - (performance.now() - started))),
          );
      timers.push(setTimeout(finish, timeoutMs));
    });
    return results;
  } finally {
    for (const s of sockets) s.sock.close();
  }
}

function probeTcp(
  intro: NetcheckIntroducer,
  client: NetcheckProbeClient,
  to: Endpoint,
  timeoutMs: number,
): Promise<TcpProbeResult> {
  const result: TcpProbeResult = {
    introducer: intro.label,
    destination: formatEndpoint(to),
    localPort: null,
    observed: null,
    rttMs: null,
    error: null,
  };
  return new Promise((resolve) => {
    const txid = randomInt(1, 0xffffffff);
    const decoder = new FrameDecoder(MAX_PACKET_LEN);
    let sentAt = 0;
    const sock = connect({ host: to.host, port: to.port });
    const done = (error: string | null) => {
      clearTimeout(timer);
      if (result.observed === null) result.error = error ?? "no answer";
      sock.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    sock.on("connect", () => {
      result.localPort = sock.localPort ?? null;
      sentAt = performance.now();
      sock.write(frame(client.probe(txid)));
    });
    sock.on("data", (chunk) => {
      const frames = decoder.push(chunk);
      if (frames === null) return done("bad framing from the introducer");
      for (const f of frames) {
        const ans = client.open(f);
        if (ans === null || ans.txid !== txid) continue;
        result.observed = { host: normalizeIp(ans.observed.host), port: ans.observed.port };
        result.rttMs = Math.round(performance.now() - sentAt);
        return done(null);
      }
    });
    sock.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    sock.on("close", () => done("connection closed"));
  });
}
