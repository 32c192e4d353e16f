/**
 * Tiny UDP/TCP programs run inside lab namespaces (as `node -e`), to observe what the NATs do.
 * Every reply carries the address the receiver saw, so a test learns its public mapping.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { LabHost } from "./lab-exec.js";

/**
 * Long-running agent: echoes every UDP datagram back with the sender's address as text, answers
 * every TCP connection the same way, logs both as JSON lines, and sends datagrams on request
 * (JSON lines on stdin) from its bound ports — so an unsolicited packet can come from the very
 * port the peer later talks to.
 */
const AGENT = `
const dgram = require("node:dgram"), net = require("node:net"), rl = require("node:readline");
const o = JSON.parse(process.argv[1]);
const out = (e) => process.stdout.write(JSON.stringify(e) + "\\n");
const socks = new Map();
let pending = o.udp.length + o.tcp.length;
const ready = () => { if (--pending === 0) out({ ev: "ready" }); };
for (const port of o.udp) {
  const s = dgram.createSocket("udp4");
  s.on("message", (m, r) => {
    const from = r.address + ":" + r.port;
    out({ ev: "udp", port, from, hex: m.toString("hex") });
    if (o.echo) s.send(from, r.port, r.address);
  });
  s.bind(port, ready);
  socks.set(port, s);
}
for (const port of o.tcp) {
  net.createServer((c) => {
    const from = c.remoteAddress + ":" + c.remotePort;
    out({ ev: "tcp", port, from });
    c.end(from);
    c.on("error", () => {});
  }).listen(port, "0.0.0.0", ready);
}
if (pending === 0) out({ ev: "ready" });
rl.createInterface({ input: process.stdin }).on("line", (line) => {
  const c = JSON.parse(line);
  const s = socks.get(c.from);
  s.setTTL(c.ttl);
  s.send(Buffer.from(c.hex, "hex"), c.port, c.host, () => out({ ev: "sent", id: c.id }));
});
`;

export interface UdpRx {
  port: number;
  from: string;
  hex: string;
}

export class Agent {
  readonly udp: UdpRx[] = [];
  readonly tcp: { port: number; from: string }[] = [];
  private readonly sent = new Set<number>();
  private ready = false;
  private readonly waiters = new Set<() => void>();
  private nextId = 1;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const ev = JSON.parse(line);
      if (ev.ev === "udp") this.udp.push({ port: ev.port, from: ev.from, hex: ev.hex });
      if (ev.ev === "tcp") this.tcp.push({ port: ev.port, from: ev.from });
      if (ev.ev === "sent") this.sent.add(ev.id);
      if (ev.ev === "ready") this.ready = true;
      for (const w of this.waiters) w();
    });
  }

  /** Starts an agent on `host` listening on the given ports; resolves once all are bound. */
  static async start(
    host: LabHost,
    ports: { udp?: number[]; tcp?: number[]; echo?: boolean },
  ): Promise<Agent> {
    const args = { udp: ports.udp ?? [], tcp: ports.tcp ?? [], echo: ports.echo ?? true };
    const child = host.spawn([process.execPath, "-e", AGENT, JSON.stringify(args)]);
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const agent = new Agent(child);
    const exited = new Promise<never>((_, reject) => {
      child.once("exit", (code) => reject(new Error(`agent in ${host.ns} exited ${code}: ${stderr}`)));
    });
    exited.catch(() => {}); // after startup an exit is normal (stop/destroy)
    await Promise.race([agent.until(() => agent.ready, "agent ready"), exited]);
    return agent;
  }

  /**
   * Sends one datagram from the agent's bound UDP port `from` with IP TTL `ttl`; resolves once it
   * left the socket.
   */
  async send(from: number, host: string, port: number, hex: string, ttl = 64): Promise<void> {
    const id = this.nextId++;
    this.child.stdin!.write(`${JSON.stringify({ id, from, host, port, hex, ttl })}\n`);
    await this.until(() => this.sent.has(id), `send #${id} to ${host}:${port}`);
  }

  /** Waits for a received datagram matching `pred` and returns it. */
  async waitUdp(pred: (rx: UdpRx) => boolean, what: string): Promise<UdpRx> {
    await this.until(() => this.udp.some(pred), what);
    return this.udp.find(pred)!;
  }

  private until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`agent: gave up waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  stop(): void {
    this.child.kill("SIGKILL");
  }
}

/** One-shot UDP client: sends datagrams in order, then collects replies until enough or timeout. */
const UDP_EXCHANGE = `
const dgram = require("node:dgram");
const o = JSON.parse(process.argv[1]);
const s = dgram.createSocket("udp4");
const res = { localPort: 0, replies: [], errors: [] };
let done = false;
const finish = () => {
  if (done) return;
  done = true;
  process.stdout.write(JSON.stringify(res));
  process.exit(0);
};
// A connected socket reports ICMP port unreachable as ECONNREFUSED; that ends the exchange.
s.on("error", (e) => { res.errors.push(e.code); finish(); });
s.on("message", (m, r) => {
  res.replies.push({ from: r.address + ":" + r.port, text: m.toString() });
  if (res.replies.length >= o.expectReplies) finish();
});
s.bind(o.bind, async () => {
  res.localPort = s.address().port;
  if (o.connect) await new Promise((r) => s.connect(o.sends[0].port, o.sends[0].host, r));
  for (const p of o.sends) {
    s.setTTL(p.ttl);
    const buf = Buffer.from(p.hex, "hex");
    await new Promise((r) => (o.connect ? s.send(buf, r) : s.send(buf, p.port, p.host, r)));
  }
  if (o.expectReplies === 0) setTimeout(finish, 50); else setTimeout(finish, o.timeoutMs);
});
`;

export interface UdpSend {
  host: string;
  port: number;
  hex: string;
  /** IP TTL for this datagram (default 64). */
  ttl?: number;
}

export interface UdpExchangeResult {
  localPort: number;
  /** `from` is the replier's address; `text` is the address the replier saw us at (agents echo it). */
  replies: { from: string; text: string }[];
  /** Socket errors, e.g. ECONNREFUSED when `connect` is set and an ICMP unreachable came back. */
  errors: string[];
}

export async function udpExchange(
  host: LabHost,
  opts: { bind?: number; connect?: boolean; sends: UdpSend[]; expectReplies: number; timeoutMs?: number },
): Promise<UdpExchangeResult> {
  const args = {
    bind: opts.bind ?? 0,
    connect: opts.connect ?? false,
    sends: opts.sends.map((s) => ({ ...s, ttl: s.ttl ?? 64 })),
    expectReplies: opts.expectReplies,
    timeoutMs: opts.timeoutMs ?? 3000,
  };
  const res = await host.execChecked([process.execPath, "-e", UDP_EXCHANGE, JSON.stringify(args)]);
  return JSON.parse(res.stdout) as UdpExchangeResult;
}

const TCP_CONNECT = `
const net = require("node:net");
const o = JSON.parse(process.argv[1]);
const done = (r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); };
let data = "";
const c = net.connect({ host: o.host, port: o.port, localPort: o.localPort, timeout: o.timeoutMs });
c.on("connect", () => { if (o.untilConnected) done({ connected: c.remoteAddress + ":" + c.remotePort }); });
c.setEncoding("utf8").on("data", (d) => (data += d));
c.on("end", () => done({ reply: data }));
c.on("timeout", () => done({ error: "TIMEOUT" }));
c.on("error", (e) => done({ error: e.code }));
`;

export interface TcpConnectResult {
  /** What the server sent before closing (an agent sends the address it saw us at). */
  reply?: string;
  /** With untilConnected: the remote address once the handshake completed. */
  connected?: string;
  /** e.g. ECONNREFUSED (RST), TIMEOUT */
  error?: string;
}

/**
 * Connects to `to` from an optional fixed `localPort`. By default reads until the server closes;
 * with `untilConnected` it returns as soon as the handshake completes (e.g. simultaneous open,
 * where both ends are connectors).
 */
export async function tcpConnect(
  host: LabHost,
  to: { host: string; port: number; localPort?: number; untilConnected?: boolean; timeoutMs?: number },
): Promise<TcpConnectResult> {
  const args = { ...to, timeoutMs: to.timeoutMs ?? 3000 };
  const res = await host.execChecked([process.execPath, "-e", TCP_CONNECT, JSON.stringify(args)]);
  return JSON.parse(res.stdout);
}

/** Polls `probe` until it returns a truthy value (counters, conntrack); throws after timeoutMs. */
export async function waitUntil<T>(probe: () => Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
