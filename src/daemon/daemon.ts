/**
 * The daemon's composition root: builds the parts from a config and wires them together. It
 * owns no protocol logic — that lives in the sans-I/O cores and in Peer — only the plumbing:
 * the UDP socket's routes, the introducer links, the session pump, the peers, the listeners,
 * and the control socket.
 */

import type { LoadedDaemonConfig } from "../config/load.js";
import { encodeKey, publicKeyOf, readPrivateKeyFile } from "../crypto/keys.js";
import { gatherHostCandidates } from "../punch/candidates.js";
import { Acl } from "../tunnel/acl.js";
import { StreamRefusedError } from "../tunnel/stream-errors.js";
import { type Endpoint, formatEndpoint, isLoopback, parseHostPort } from "../util/addr.js";
import { type Clock, systemClock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { peekDisco } from "../wire/disco.js";
import { controlPathOf } from "./control-path.js";
import { startControlServer } from "./control-server.js";
import { type ExitStats, handleIncomingStream } from "./exit.js";
import { type IntroducerEvent, IntroducerLink } from "./introducer-link.js";
import { Listeners } from "./listeners.js";
import type { MetricsServer } from "./metrics.js";
import type { DaemonMetricsSource } from "./metrics-source.js";
import { Peer } from "./peer.js";
import { completePeerStatus } from "./peer-status.js";
import { CoreTimer } from "./scheduler.js";
import { type SessionEvent, SessionPump } from "./session-pump.js";
import type { DaemonStatus } from "./status-types.js";
import { createTcpFallback, type TcpWiring } from "./tcp-wiring.js";
import { UdpEndpoint } from "./udp-endpoint.js";

export interface DaemonOptions {
  clock?: Clock;
  /** Skip the control socket (tests that drive the daemon in-process). */
  noControl?: boolean;
}

export class Daemon {
  readonly startedAt: number;
  private readonly peers = new Map<string, Peer>();
  private readonly peersById = new Map<string, Peer>();
  private readonly peerTimers = new Map<Peer, CoreTimer>();
  private readonly acls = new Map<string, Acl>();
  private readonly introducers: IntroducerLink[] = [];
  readonly exitStats: ExitStats = { accepted: 0, refused: 0, active: 0 };
  readonly counters = { discoUnknownPeer: 0, introducerUnknownSource: 0 };
  private control: { close(): Promise<void> } | undefined;
  private metrics: MetricsServer | undefined;
  private readonly sessions: SessionPump;
  private readonly listeners: Listeners;
  /** The TCP fallback (registration port + simultaneous open); undefined when disabled. */
  readonly tcp: TcpWiring | undefined;
  readonly publicKey: Buffer;

  private constructor(
    private cfg: LoadedDaemonConfig,
    private readonly privateKey: Buffer,
    readonly udp: UdpEndpoint,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock.now();
    this.publicKey = publicKeyOf(privateKey);
    this.sessions = new SessionPump(
      { privateKey, peers: cfg.peers.map((p) => Buffer.from(p.publicKey, "base64")), clock },
      (packet, to) => this.udp.send(packet, to),
      (e) => this.onSessionEvent(e),
    );
    this.listeners = new Listeners((peer, target) => this.openStream(peer, target), logger);
    this.tcp = createTcpFallback({
      enabled: cfg.punch.tcpFallback,
      pump: this.sessions,
      clock,
      logger,
      peer: (id) => this.peersById.get(id),
      rearm: (peer) => this.rearm(peer),
    });
  }

  static async start(cfg: LoadedDaemonConfig, logger: Logger, opts: DaemonOptions = {}): Promise<Daemon> {
    const privateKey = readPrivateKeyFile(cfg.privateKeyPath);
    const bind = parseHostPort(cfg.bind, { allowZeroPort: true });
    if (!bind.ok) throw new Error(`bind: ${bind.error}`); // the schema validated it
    const udp = await UdpEndpoint.bind(bind.value);
    const d = new Daemon(cfg, privateKey, udp, logger, opts.clock ?? systemClock);
    await d.init(opts);
    return d;
  }

  private async init(opts: DaemonOptions): Promise<void> {
    const cfg = this.cfg;
    this.logger.info(
      { name: cfg.name, publicKey: encodeKey(this.publicKey), udp: formatEndpoint(this.udp.local) },
      "p2ptun daemon starting",
    );
    this.applyPeers(cfg);
    // Loopback candidates only make sense when everything runs on this machine (demo, tests).
    const localOnly = cfg.introducers.every((i) => {
      const a = parseHostPort(i.address, { defaultPort: 2345 });
      return a.ok && isLoopback(a.value.host);
    });
    const lan = gatherHostCandidates(this.udp.local.port, { includeLoopback: localOnly });
    for (const intro of cfg.introducers) {
      const address = parseHostPort(intro.address, { defaultPort: 2345 });
      if (!address.ok) continue;
      this.introducers.push(
        new IntroducerLink({
          address: address.value,
          publicKey: Buffer.from(intro.publicKey, "base64"),
          name: cfg.name,
          privateKey: this.privateKey,
          lanCandidates: lan,
          accepts: (key) => this.peersById.get(key.toString("base64"))?.name ?? null,
          clock: this.clock,
          logger: this.logger,
          sendUdp: (packet, to) => this.udp.send(packet, to),
          onEvent: (link, e) => this.onIntroducerEvent(link, e),
          tcpPort: this.tcp?.port,
        }),
      );
    }
    this.udp.route(0x01, 0x0f, (packet, from) => {
      const link = this.introducers.find((l) => l.owns(from));
      if (link) link.handle(packet);
      else this.counters.introducerUnknownSource++;
    });
    this.udp.route(0x10, 0x11, (packet, from) => {
      const head = peekDisco(packet);
      const peer = head && this.peersById.get(head.senderPublic.toString("base64"));
      if (!peer) {
        this.counters.discoUnknownPeer++;
        return;
      }
      peer.onDisco(packet, from, this.clock.now());
      this.rearm(peer);
    });
    this.udp.route(0x20, 0x22, (packet, from) => this.sessions.handle(packet, from));
    await Promise.all(this.introducers.map((l) => l.start()));
    await this.listeners.apply(cfg);
    if (cfg.metrics) {
      // Loaded only when asked for: prom-client and its collectors add ~10 MB to every daemon.
      const { serveMetrics, daemonRegistry } = await import("./metrics.js");
      this.metrics = await serveMetrics(
        cfg.metrics.listen,
        daemonRegistry(() => this.metricsSource()),
        this.logger,
      );
    }
    if (!opts.noControl) {
      this.control = await startControlServer(controlPathOf(cfg), {
        status: () => this.status(),
        ping: (peer, count, reply, signal) => this.ping(peer, count, reply, signal),
      });
    }
  }

  /** Creates peers the config adds, removes those it drops, updates ACLs and wanted flags. */
  private applyPeers(cfg: LoadedDaemonConfig): void {
    const wanted = new Set([...cfg.forwards.map((f) => f.peer), ...cfg.socks.map((s) => s.peer)]);
    const keep = new Set<string>();
    for (const p of cfg.peers) {
      keep.add(p.name);
      const acl = Acl.parse(p.allow);
      this.acls.set(p.name, acl.ok ? acl.value : Acl.denyAll);
      const existing = this.peers.get(p.name);
      if (existing && existing.id === p.publicKey) {
        existing.wanted = wanted.has(p.name);
        continue;
      }
      if (existing) this.removePeer(existing);
      const peer: Peer = new Peer({
        name: p.name,
        publicKey: Buffer.from(p.publicKey, "base64"),
        ourPrivate: this.privateKey,
        ourPublic: this.publicKey,
        wanted: wanted.has(p.name),
        primerTtl: cfg.punch.primerTtl,
        clock: this.clock,
        logger: this.logger,
        io: {
          sendUdp: (packet, to, ttl) => this.udp.send(packet, to, ttl),
          sendPayload: (payload) => this.sessions.send(peer.publicKey, payload),
          connectSession: (endpoint) => this.sessions.connect(peer.publicKey, endpoint),
          requestIntroduction: (): boolean => this.requestIntroduction(peer),
          ourSrflx: () => this.ourSrflx(),
          rearm: () => this.rearm(peer),
          tcp: this.tcp?.fallback.forPeer(Buffer.from(p.publicKey, "base64").toString("base64")),
        },
        onStream: (from, req) =>
          handleIncomingStream(
            req,
            this.acls.get(from.name) ?? Acl.denyAll,
            from.name,
            this.logger,
            this.exitStats,
          ),
      });
      this.peers.set(p.name, peer);
      this.peersById.set(peer.id, peer);
      this.peerTimers.set(
        peer,
        new CoreTimer({ nextTimer: () => peer.nextTimer(), tick: (now) => peer.tick(now) }, () =>
          this.clock.now(),
        ),
      );
    }
    for (const peer of [...this.peers.values()]) if (!keep.has(peer.name)) this.removePeer(peer);
    this.sessions.setPeers([...this.peers.values()].map((p) => p.publicKey));
  }

  private removePeer(peer: Peer): void {
    peer.close();
    this.peerTimers.get(peer)?.close();
    this.peerTimers.delete(peer);
    this.peers.delete(peer.name);
    this.peersById.delete(peer.id);
  }

  private rearm(peer: Peer): void {
    this.peerTimers.get(peer)?.rearm();
  }

  private requestIntroduction(peer: Peer): boolean {
    const registered = this.introducers.filter((l) => l.registered);
    for (const l of registered) l.introduce(peer.name);
    return registered.length > 0;
  }

  private ourSrflx(): Endpoint | undefined {
    for (const l of this.introducers) {
      const e = l.client.status().publicEndpoint;
      if (e) return e;
    }
    return undefined;
  }

  private onIntroducerEvent(link: IntroducerLink, e: IntroducerEvent): void {
    const now = this.clock.now();
    switch (e.type) {
      case "registered":
        this.logger.info(
          {
            introducer: link.label,
            publicEndpoint: formatEndpoint(e.observed),
            rttMs: e.rttMs,
            changed: e.changed,
          },
          "registered with introducer",
        );
        for (const peer of this.peers.values()) {
          // Our mapping moved: an attempt in flight used the old one, so start over.
          if (e.changed && peer.state === "connecting")
            peer.onRefused("our public endpoint changed; retrying", now);
          if (e.changed) peer.onOurEndpointChanged();
          peer.maybeConnect(now);
          this.rearm(peer);
        }
        break;
      case "introduction": {
        const peer = this.peers.get(e.peerName);
        if (!peer) return;
        peer.onIntroduction(e.candidates, e.startAt, now);
        this.tcp?.fallback.introduced(
          peer.id,
          peer.name,
          e.candidates,
          e.startAt,
          link.client.status().registered,
        );
        this.rearm(peer);
        break;
      }
      case "retimed": {
        const peer = this.peers.get(e.peerName);
        if (!peer) return;
        peer.onRetimed(e.startAt, now);
        this.rearm(peer);
        break;
      }
      case "refused": {
        const peer = e.peerName ? this.peers.get(e.peerName) : undefined;
        // The one introduction asked after start for a peer we do not need is no cause to warn.
        this.logger[peer?.isAnnouncing ? "debug" : "warn"](
          { introducer: link.label, request: e.request, peer: e.peerName, code: e.code, reason: e.reason },
          "introducer refused",
        );
        if (peer) {
          peer.onRefused(e.reason, now);
          this.rearm(peer);
        }
        break;
      }
      case "declined":
        this.logger.warn(
          { introducer: link.label, peer: e.peerName },
          "declined an introduction from a peer not in our peers list",
        );
        break;
      case "lost":
        if (link.tcp?.registered)
          this.logger.info(
            { introducer: link.label },
            "introducer is not answering over UDP; registered over TCP",
          );
        else
          this.logger.warn({ introducer: link.label }, "introducer is not answering; retrying with backoff");
        break;
    }
  }

  private onSessionEvent(e: SessionEvent): void {
    const peer = this.peersById.get(e.peer);
    if (!peer) return;
    const now = this.clock.now();
    switch (e.type) {
      case "deliver":
        peer.onPayload(e.payload, now);
        break;
      case "established":
        peer.onEstablished(e.endpoint, now);
        break;
      case "roamed":
        peer.onRoamed(e.endpoint, now);
        break;
      case "handshakeFailed":
        peer.onHandshakeFailed(now);
        break;
    }
    this.rearm(peer);
  }

  /**
   * Applies a new config without a restart: peers, allow lists, forwards and SOCKS entries are
   * added, removed or changed; streams of untouched peers and listeners are left alone. Keys
   * that need a restart (name, key, bind, control, introducers) are logged and kept as they were.
   */
  async reload(next: LoadedDaemonConfig): Promise<void> {
    const needRestart = (["name", "privateKeyPath", "bind", "control"] as const).filter(
      (k) => next[k] !== this.cfg[k],
    );
    if (JSON.stringify(next.introducers) !== JSON.stringify(this.cfg.introducers))
      needRestart.push("introducers" as never);
    if (needRestart.length)
      this.logger.warn(
        { keys: needRestart },
        `reload: ${needRestart.join(", ")} changed; they take effect on restart`,
      );
    const applied = {
      ...next,
      name: this.cfg.name,
      privateKeyPath: this.cfg.privateKeyPath,
      bind: this.cfg.bind,
      control: this.cfg.control,
      introducers: this.cfg.introducers,
    };
    this.cfg = applied;
    this.logger.level = next.log.level;
    this.applyPeers(applied);
    await this.listeners.apply(applied);
    for (const peer of this.peers.values()) {
      peer.maybeConnect(this.clock.now());
      this.rearm(peer);
    }
    this.logger.info(
      { peers: applied.peers.length, forwards: applied.forwards.length, socks: applied.socks.length },
      "config reloaded",
    );
  }

  openStream(peerName: string, target: string) {
    const peer = this.peers.get(peerName);
    if (!peer)
      return Promise.reject(new StreamRefusedError("PEER_NOT_CONNECTED", `unknown peer ${peerName}`));
    return peer.openStream(target);
  }

  peer(name: string): Peer | undefined {
    return this.peers.get(name);
  }

  async ping(
    name: string,
    count: number,
    reply: (line: unknown) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const peer = this.peers.get(name);
    if (!peer)
      throw new Error(`unknown peer "${name}"; peers are: ${[...this.peers.keys()].join(", ") || "none"}`);
    for (let i = 0; i < count && !signal.aborted; i++) {
      const started = Date.now();
      const r = await peer.ping();
      if (r) reply({ seq: i + 1, rttMs: r.rttMs, path: r.path, endpoint: formatEndpoint(r.endpoint) });
      else reply({ seq: i + 1, timeout: true, reason: peer.reason ?? peer.state });
      const wait = 1000 - (Date.now() - started);
      if (i + 1 < count && wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  }

  status(): DaemonStatus {
    const now = this.clock.now();
    return {
      name: this.cfg.name,
      publicKey: encodeKey(this.publicKey),
      uptimeMs: now - this.startedAt,
      bind: formatEndpoint(this.udp.local),
      introducers: this.introducers.map((l) => l.status(now)),
      peers: [...this.peers.values()].map((p) =>
        completePeerStatus(p.status(now), this.sessions.manager.peerStatus(p.id), now),
      ),
      listeners: this.listeners.status(),
      metrics: this.metrics ? formatEndpoint(this.metrics.address) : null,
    };
  }

  /** What the Prometheus collectors read at each scrape (src/daemon/metrics.ts). */
  metricsSource(): DaemonMetricsSource {
    const now = this.clock.now();
    const manager = this.sessions.manager;
    return {
      name: this.cfg.name,
      introducers: this.introducers.map((l) => ({
        label: l.label,
        registered: l.registered,
        rttMs: l.status(now).rttMs,
        drops: l.client.counters,
        events: l.events,
      })),
      peers: [...this.peers.values()].map((p) => ({
        status: p.status(now),
        counters: p.counters,
        session: manager.peerStatus(p.id),
        link: p.linkStats(),
      })),
      session: manager.counters,
      udp: this.udp.counters,
      daemon: this.counters,
      exit: this.exitStats,
      listeners: this.listeners.status(),
      tcp: this.tcp?.fallback.counters,
    };
  }

  async close(): Promise<void> {
    await this.metrics?.close();
    await this.control?.close();
    await this.listeners.close();
    for (const peer of [...this.peers.values()]) this.removePeer(peer);
    for (const l of this.introducers) l.close();
    this.tcp?.fallback.close();
    this.sessions.close();
    await this.udp.close();
  }
}
