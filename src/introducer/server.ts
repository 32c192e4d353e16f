/**
 * The introducer's socket adapter: one UDP socket and one TCP listener on the same port feed
 * IntroducerCore, and a single timer calls its `tick`. Nothing thrown by a handler escapes: an
 * unexpected error is logged and counted, so one odd packet cannot take the introducer down.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIP, type Server, type Socket } from "node:net";
import { type Endpoint, formatEndpoint, normalizeIp } from "../util/addr.js";
import { systemClock } from "../util/clock.js";
import { P2pError } from "../util/errors.js";
import { MAX_PACKET_LEN } from "../wire/introducer.js";
import {
  MAX_TCP_CONNECTIONS,
  MAX_TCP_CONNECTIONS_PER_IP,
  MAX_TICK_INTERVAL_MS,
  TCP_IDLE_TIMEOUT_MS,
} from "./constants.js";
import {
  type IntroducerAction,
  IntroducerCore,
  type IntroducerEvent,
  type IntroducerStats,
  type Source,
} from "./core.js";
import { FrameDecoder, frame } from "./tcp-frames.js";

export interface IntroducerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface StartIntroducerOptions {
  /** Port 0 picks one port that is free for both UDP and TCP. */
  listen: Endpoint;
  privateKey: Buffer;
  peers: { name: string; publicKey: Buffer }[];
  logger?: IntroducerLogger;
  /**
   * UDP port on which only netcheck PROBEs are answered, so `p2ptun netcheck` can compare the
   * NAT mapping towards two destinations. Default: the listen port + 1; 0 = any free port;
   * null = none. A port that cannot be bound is logged and skipped, never fatal.
   */
  alternatePort?: number | null;
}

export interface RunningIntroducer {
  udpPort: number;
  tcpPort: number;
  /** The netcheck alternate UDP port, or null when there is none. */
  alternatePort: number | null;
  publicKey: Buffer;
  counters(): Record<string, number>;
  stats(): IntroducerStats;
  close(): Promise<void>;
}

const silent: IntroducerLogger = { info() {}, warn() {}, debug() {} };

export async function startIntroducer(opts: StartIntroducerOptions): Promise<RunningIntroducer> {
  const log = opts.logger ?? silent;
  const clock = systemClock;
  const core = new IntroducerCore({
    privateKey: opts.privateKey,
    peers: opts.peers,
    wallClockMs: Date.now(),
    onEvent: (e) => logEvent(log, e),
  });
  const extra = {
    tcpAccepted: 0,
    tcpRefused: 0,
    tcpBadFraming: 0,
    tcpIdleClosed: 0,
    handlerErrors: 0,
    sendErrors: 0,
  };
  const conns = new Map<number, Socket>();
  const connsPerIp = new Map<string, number>();
  let nextConnId = 1;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const { udp, tcp, port } = await bindBoth(opts.listen);
  const alt = await bindAlternate(
    opts.listen.host,
    opts.alternatePort === undefined ? port + 1 : opts.alternatePort,
    log,
  );

  const perform = (actions: IntroducerAction[]) => {
    for (const a of actions) {
      if (a.transport === "udp") {
        udp.send(a.packet, a.to.port, a.to.host, (err) => {
          if (err) extra.sendErrors++;
        });
      } else {
        const s = a.connId === undefined ? undefined : conns.get(a.connId);
        if (s && !s.destroyed) s.write(frame(a.packet));
        else extra.sendErrors++;
      }
    }
    schedule();
  };

  /** Runs `fn` and performs its actions; nothing escapes into the socket's event emitter. */
  const guarded = (what: string, fn: () => IntroducerAction[]) => {
    try {
      perform(fn());
    } catch (e) {
      extra.handlerErrors++;
      log.warn({ err: e, what }, "introducer: unexpected error in handler");
    }
  };

  /** Keeps one timer armed for the core's next deadline (at most MAX_TICK_INTERVAL_MS away). */
  let timerAt = Number.POSITIVE_INFINITY;
  const schedule = () => {
    if (closed) return;
    const now = clock.now();
    const next = Math.min(core.nextTimer() ?? Number.POSITIVE_INFINITY, now + MAX_TICK_INTERVAL_MS);
    if (timer && next >= timerAt) return; // the armed timer fires first anyway
    if (timer) clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        guarded("tick", () => core.tick(clock.now()));
      },
      Math.max(0, next - now),
    );
    timer.unref();
  };

  udp.on("message", (msg, rinfo) => {
    const from: Source = { endpoint: { host: rinfo.address, port: rinfo.port }, transport: "udp" };
    guarded("udp", () => core.handle(msg, from, clock.now()));
  });
  udp.on("error", (err) => log.warn({ err }, "introducer: UDP socket error"));

  // The alternate port answers netcheck PROBEs only, from the socket they arrived on.
  alt?.on("message", (msg, rinfo) => {
    const from: Source = { endpoint: { host: rinfo.address, port: rinfo.port }, transport: "udp" };
    try {
      for (const a of core.handleAlternate(msg, from, clock.now()))
        alt.send(a.packet, a.to.port, a.to.host, (err) => {
          if (err) extra.sendErrors++;
        });
    } catch (e) {
      extra.handlerErrors++;
      log.warn({ err: e, what: "alternate" }, "introducer: unexpected error in handler");
    }
  });
  alt?.on("error", (err) => log.warn({ err }, "introducer: alternate UDP socket error"));

  tcp.on("connection", (sock) => {
    if (sock.remoteAddress === undefined) {
      sock.destroy(); // already gone
      return;
    }
    const ip = normalizeIp(sock.remoteAddress);
    const fromIp = connsPerIp.get(ip) ?? 0;
    if (closed || conns.size >= MAX_TCP_CONNECTIONS || fromIp >= MAX_TCP_CONNECTIONS_PER_IP) {
      extra.tcpRefused++;
      sock.destroy();
      return;
    }
    extra.tcpAccepted++;
    const connId = nextConnId++;
    conns.set(connId, sock);
    connsPerIp.set(ip, fromIp + 1);
    const from: Source = { endpoint: { host: ip, port: sock.remotePort ?? 0 }, transport: "tcp", connId };
    const decoder = new FrameDecoder(MAX_PACKET_LEN);
    sock.setNoDelay(true);
    sock.setTimeout(TCP_IDLE_TIMEOUT_MS, () => {
      extra.tcpIdleClosed++;
      sock.destroy();
    });
    sock.on("data", (chunk) => {
      const frames = decoder.push(chunk);
      if (frames === null) {
        extra.tcpBadFraming++;
        sock.destroy();
        return;
      }
      for (const f of frames) guarded("tcp", () => core.handle(f, from, clock.now()));
    });
    sock.on("error", () => {}); // resets are normal; "close" follows and cleans up
    sock.on("close", () => {
      conns.delete(connId);
      const left = (connsPerIp.get(ip) ?? 1) - 1;
      if (left <= 0) connsPerIp.delete(ip);
      else connsPerIp.set(ip, left);
      core.connectionClosed(connId);
    });
  });
  tcp.on("error", (err) => log.warn({ err }, "introducer: TCP listener error"));

  schedule();
  log.info(
    {
      port,
      alternatePort: alt ? alt.address().port : null,
      publicKey: core.publicKey.toString("base64"),
      peers: opts.peers.length,
    },
    "introducer listening",
  );

  return {
    udpPort: port,
    tcpPort: port,
    alternatePort: alt ? alt.address().port : null,
    publicKey: core.publicKey,
    counters: () => ({ ...core.counters(), ...extra, tcpConnections: conns.size }),
    stats: () => core.stats(clock.now()),
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const s of conns.values()) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => (alt ? alt.close(() => resolve()) : resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function logEvent(log: IntroducerLogger, e: IntroducerEvent): void {
  switch (e.type) {
    case "registered": {
      const fields = { peer: e.name, transport: e.transport, observed: formatEndpoint(e.observed) };
      if (e.changed) log.info(fields, "peer registered");
      else log.debug(fields, "peer refreshed");
      break;
    }
    case "expired":
      log.info({ peer: e.name }, "peer registration expired");
      break;
    case "refused":
      log.info({ peer: e.name, code: e.code, reason: e.reason }, "request refused");
      break;
    case "introduced":
      log.info({ requester: e.requester, target: e.target }, "peers introduced");
      break;
  }
}

/** The netcheck alternate UDP socket; null when disabled or the port is taken (logged). */
async function bindAlternate(
  host: string,
  port: number | null,
  log: IntroducerLogger,
): Promise<UdpSocket | null> {
  if (port === null || port > 65535) return null;
  const sock = createSocket({ type: isIP(host) === 6 ? "udp6" : "udp4" });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(port, host, () => {
        sock.off("error", reject);
        resolve();
      });
    });
    return sock;
  } catch (e) {
    sock.close();
    log.warn(
      { port, err: (e as Error).message },
      "introducer: cannot bind the netcheck alternate UDP port; netcheck cannot compare mappings here",
    );
    return null;
  }
}

/** Binds UDP and TCP on one port; with port 0, retries until a port is free for both. */
async function bindBoth(listen: Endpoint): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  const attempts = listen.port === 0 ? 20 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const udp = createSocket({ type: isIP(listen.host) === 6 ? "udp6" : "udp4" });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(listen.port, listen.host, () => {
          udp.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      lastError = e;
      continue;
    }
    const port = udp.address().port;
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, listen.host, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
      return { udp, tcp, port };
    } catch (e) {
      lastError = e;
      udp.close();
    }
  }
  throw new P2pError(
    "LISTEN_FAILED",
    `introducer cannot listen on ${listen.host}:${listen.port} (UDP and TCP): ${(lastError as Error)?.message}`,
    { cause: lastError },
  );
}
