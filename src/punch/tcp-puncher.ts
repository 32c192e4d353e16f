/**
 * TCP simultaneous open (RFC 5382 §5.3, RFC 5128 §4): from the local port whose NAT mapping the
 * introducer observed on our TCP registration, connect to the peer's observed TCP endpoint at the
 * agreed instant. Each side's SYN opens its own NAT towards the other; when the SYNs cross, both
 * kernels complete the handshake on the connecting sockets (no listener anywhere).
 *
 * A NAT that answers an early SYN with a reset (most Linux-based NATs without a firewall, see
 * test/natlab/README.md) aborts that attempt, so failed attempts are retried every
 * TCP_PUNCH_RETRY_MS (with jitter, so two sides do not retry in lockstep) until the budget ends.
 * An attempt whose SYN is silently dropped stays in SYN_SENT (the kernel retransmits the SYN) and
 * is kept: the peer's SYN completes it. The first established connection wins.
 *
 * Binding a second socket to a port that our introducer connection uses relies on SO_REUSEADDR,
 * which libuv sets on every explicit TCP bind — so both sockets must be bound explicitly (a
 * `localAddress` is always given), and no socket may listen on that port.
 */
import { connect as netConnect, type Socket } from "node:net";
import type { Endpoint } from "../util/addr.js";

/** How long one TCP punch tries, from the start instant. Covers the UDP budget (9 s) plus margin. */
export const TCP_PUNCH_BUDGET_MS = 10_000;
/** Pause after a refused/reset attempt; the actual pause is drawn from [1, 2) × this. */
export const TCP_PUNCH_RETRY_MS = 40;

export interface TcpConnectOptions {
  host: string;
  port: number;
  localPort: number;
  localAddress: string;
}

export interface TcpPunchOptions {
  remote: Endpoint;
  localPort: number;
  /** Defaults to the wildcard address of the remote's family. */
  localAddress?: string;
  /** Absolute instant (on `now`'s clock) of the first SYN. */
  startAt: number;
  now: () => number;
  budgetMs?: number;
  retryMs?: number;
  signal?: AbortSignal;
  random?: () => number;
  /** Injectable for tests; defaults to `net.connect`. */
  connect?: (o: TcpConnectOptions) => Socket;
}

export type TcpPunchResult =
  | { ok: true; socket: Socket; attempts: number; elapsedMs: number }
  | { ok: false; attempts: number; errors: Record<string, number>; reason: string };

export function punchTcp(o: TcpPunchOptions): Promise<TcpPunchResult> {
  const budget = o.budgetMs ?? TCP_PUNCH_BUDGET_MS;
  const retry = o.retryMs ?? TCP_PUNCH_RETRY_MS;
  const random = o.random ?? Math.random;
  const connect = o.connect ?? ((c: TcpConnectOptions) => netConnect(c));
  const localAddress = o.localAddress ?? (o.remote.host.includes(":") ? "::" : "0.0.0.0");
  const deadline = o.startAt + budget;
  const errors: Record<string, number> = {};
  let attempts = 0;
  let timer: NodeJS.Timeout | undefined;
  let current: Socket | undefined;
  let done = false;

  return new Promise((resolve) => {
    const finish = (r: TcpPunchResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadlineTimer);
      o.signal?.removeEventListener("abort", onAbort);
      if (!r.ok) current?.destroy();
      resolve(r);
    };
    const fail = (reason: string) => finish({ ok: false, attempts, errors: { ...errors }, reason });
    const onAbort = () => fail("aborted");

    const attempt = () => {
      if (done) return;
      attempts++;
      let sock: Socket;
      try {
        sock = connect({ host: o.remote.host, port: o.remote.port, localPort: o.localPort, localAddress });
      } catch (e) {
        onError((e as NodeJS.ErrnoException).code ?? "ERROR");
        return;
      }
      current = sock;
      sock.once("connect", () => {
        if (done) {
          sock.destroy();
          return;
        }
        sock.removeAllListeners("error");
        sock.setNoDelay(true);
        finish({ ok: true, socket: sock, attempts, elapsedMs: Math.max(0, o.now() - o.startAt) });
      });
      sock.once("error", (e: NodeJS.ErrnoException) => {
        sock.destroy();
        if (current === sock) current = undefined;
        onError(e.code ?? "ERROR");
      });
    };

    const onError = (code: string) => {
      errors[code] = (errors[code] ?? 0) + 1;
      if (done) return;
      const pause = retry * (1 + random());
      if (o.now() + pause >= deadline) return; // the deadline timer reports the failure
      timer = setTimeout(attempt, pause);
    };

    const deadlineTimer = setTimeout(
      () => {
        const summary = Object.entries(errors)
          .map(([k, v]) => `${v}× ${k}`)
          .join(", ");
        fail(`no TCP connection within ${budget} ms (${attempts} attempts${summary ? `: ${summary}` : ""})`);
      },
      Math.max(0, deadline - o.now()),
    );
    if (o.signal?.aborted) {
      onAbort();
      return;
    }
    o.signal?.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(attempt, Math.max(0, o.startAt - o.now()));
  });
}
