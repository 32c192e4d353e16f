/**
 * Drives the SessionManager (Noise IK sessions with every peer) from the UDP socket: feeds it
 * packets and timer ticks, sends what it asks to send, and hands the other actions to the peer
 * they concern. The hot path: `send` and `handle` of DATA packets.
 */
import { type SessionAction, SessionManager } from "../crypto/noise/session-manager.js";
import type { Endpoint } from "../util/addr.js";
import type { Clock } from "../util/clock.js";
import type { Datagram } from "../wire/datagram.js";
import { CoreTimer } from "./scheduler.js";

export type SessionEvent = Exclude<SessionAction, { type: "send" }>;

export class SessionPump {
  readonly manager: SessionManager;
  private readonly timer: CoreTimer;
  /** Per peer id: another transport (a punched TCP connection); true when it took the packet. */
  private readonly routes = new Map<string, (packet: Datagram, to: Endpoint) => boolean>();

  constructor(
    opts: { privateKey: Buffer; peers: Buffer[]; clock: Clock },
    private readonly sendUdp: (packet: Datagram, to: Endpoint) => void,
    private readonly onEvent: (e: SessionEvent) => void,
  ) {
    this.manager = new SessionManager({
      privateKey: opts.privateKey,
      peers: opts.peers,
      now: opts.clock.now(),
    });
    this.timer = new CoreTimer(
      { nextTimer: () => this.manager.nextTimer(), tick: (now) => this.run(this.manager.tick(now)) },
      () => opts.clock.now(),
    );
    this.clock = opts.clock;
  }

  private readonly clock: Clock;
  private prepareImmediate: NodeJS.Immediate | undefined;
  private prepareTick = false;

  /**
   * Has the manager make the next packets' ciphers (SessionManager.prepareNext) once the work in
   * hand is done, so the work is never on the way of a packet:
   * - after a receive (the poll phase): in this turn's check phase, after what was received was
   *   delivered (down to the TCP write) and the datagrams it caused went out;
   * - after a send (from a channel flush in the check phase or a timer): on the next tick, right
   *   after the flush that sent it. An immediate asked for during the check phase runs only on the
   *   next turn of the loop, which would cost an extra loop turn (a non-blocking epoll_wait and
   *   all phases) per packet sent.
   */
  private schedulePrepare(): void {
    if (this.prepareImmediate === undefined) this.prepareImmediate = setImmediate(this.prepareNow);
  }

  private schedulePrepareAfterSend(): void {
    if (this.prepareTick) return;
    this.prepareTick = true;
    process.nextTick(this.prepareFromTick);
  }

  private readonly prepareNow = (): void => {
    this.prepareImmediate = undefined;
    this.manager.prepareNext();
  };

  private readonly prepareFromTick = (): void => {
    this.prepareTick = false;
    this.manager.prepareNext();
  };

  private run(actions: SessionAction[]): void {
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      if (a.type === "send") {
        const route = this.routes.size === 0 ? undefined : this.routes.get(a.peer);
        if (!route?.(a.packet, a.to)) this.sendUdp(a.packet, a.to);
      } else this.onEvent(a);
    }
  }

  handle(packet: Buffer, from: Endpoint): void {
    this.run(this.manager.handle(packet, from, this.clock.now()));
    this.schedulePrepare();
    this.timer.rearm();
  }

  send(peer: Buffer | string, payload: Buffer): void {
    this.run(this.manager.send(peer, payload, this.clock.now()));
    this.schedulePrepareAfterSend();
    this.timer.rearm();
  }

  connect(peer: Buffer | string, endpoint: Endpoint): void {
    this.run(this.manager.connect(peer, endpoint, this.clock.now()));
    this.timer.rearm();
  }

  /** Sends for `peer` try `route` first (the TCP path); undefined removes it. */
  route(peer: string, route: ((packet: Datagram, to: Endpoint) => boolean) | undefined): void {
    if (route) this.routes.set(peer, route);
    else this.routes.delete(peer);
  }

  setPeers(peers: Buffer[]): void {
    this.manager.setPeers(peers);
    this.timer.rearm();
  }

  close(): void {
    if (this.prepareImmediate !== undefined) clearImmediate(this.prepareImmediate);
    this.prepareImmediate = undefined;
    this.timer.close();
  }
}
