/**
 * The local side of the tunnel: one forward (ssh -L) or SOCKS5 endpoint (ssh -D) per config
 * entry. A listener that cannot bind is reported in status and the log; the others still run.
 */
import type { Duplex } from "node:stream";
import type { LoadedDaemonConfig } from "../config/load.js";
import { type ForwardHandle, startForward } from "../tunnel/forward.js";
import { warnIfExposed } from "../tunnel/socks/exposure.js";
import { startSocksServer } from "../tunnel/socks/server.js";
import { parseHostPort } from "../util/addr.js";
import type { Logger } from "../util/logger.js";
import type { ListenerStatus } from "./status-types.js";

type OpenStream = (peer: string, target: string) => Promise<Duplex>;

interface Running {
  status: Omit<ListenerStatus, "listening" | "active">;
  key: string;
  handle?: { close(): Promise<void>; stats(): { active: number } };
  error?: string;
}

function hostPort(text: string) {
  const r = parseHostPort(text);
  if (!r.ok) throw new Error(`bad listen address ${text}`); // validated by the config schema already
  return r.value;
}

export class Listeners {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly open: OpenStream,
    private readonly logger: Logger,
  ) {}

  /** Starts what the config lists and is not running; stops what it no longer lists. */
  async apply(cfg: LoadedDaemonConfig): Promise<void> {
    const wanted = new Map<string, () => Promise<Running>>();
    for (const f of cfg.forwards) {
      const key = `forward ${f.listen} ${f.peer} ${f.connect}`;
      wanted.set(key, async () => {
        const r: Running = {
          key,
          status: { kind: "forward", listen: f.listen, peer: f.peer, connect: f.connect },
        };
        try {
          r.handle = (await startForward({
            listen: hostPort(f.listen),
            target: f.connect,
            open: (t) => this.open(f.peer, t),
            logger: this.logger,
          })) as ForwardHandle;
          this.logger.info({ listen: f.listen, peer: f.peer, connect: f.connect }, "forward listening");
        } catch (e) {
          r.error = (e as Error).message;
          this.logger.error({ listen: f.listen, err: r.error }, "forward cannot listen");
        }
        return r;
      });
    }
    for (const s of cfg.socks) {
      const key = `socks ${s.listen} ${s.peer} ${s.username ?? ""}:${s.password ?? ""}`;
      wanted.set(key, async () => {
        const r: Running = { key, status: { kind: "socks", listen: s.listen, peer: s.peer } };
        const credentials =
          s.username && s.password ? { username: s.username, password: s.password } : undefined;
        const listen = hostPort(s.listen);
        const warning = warnIfExposed(listen, credentials);
        if (warning) this.logger.warn({ listen: s.listen }, warning);
        try {
          r.handle = await startSocksServer({
            listen,
            credentials,
            openStream: (t) => this.open(s.peer, t),
            logger: this.logger,
          });
          this.logger.info({ listen: s.listen, peer: s.peer, auth: !!credentials }, "SOCKS5 listening");
        } catch (e) {
          r.error = (e as Error).message;
          this.logger.error({ listen: s.listen, err: r.error }, "SOCKS5 cannot listen");
        }
        return r;
      });
    }
    for (const [key, r] of this.running) {
      if (!wanted.has(key)) {
        await r.handle?.close();
        this.running.delete(key);
        this.logger.info({ listen: r.status.listen }, `${r.status.kind} stopped`);
      }
    }
    for (const [key, start] of wanted) {
      if (!this.running.has(key)) this.running.set(key, await start());
    }
  }

  status(): ListenerStatus[] {
    return [...this.running.values()].map((r) => ({
      ...r.status,
      listening: !!r.handle,
      active: r.handle?.stats().active ?? 0,
      ...(r.error ? { error: r.error } : {}),
    }));
  }

  async close(): Promise<void> {
    for (const r of this.running.values()) await r.handle?.close();
    this.running.clear();
  }
}
