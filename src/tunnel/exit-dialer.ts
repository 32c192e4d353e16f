/**
 * The exit side of a stream: turns a target string (`host:port`, `[v6]:port`, `name:port`) into a
 * connected TCP socket, if and only if the peer's ACL allows it. Every failure is a
 * StreamRefusedError whose code the mux carries back to the opener.
 *
 * A name is resolved here, on the exit host (so `curl --socks5-hostname` resolves where the
 * services are), and only resolved addresses that pass `Acl.allowsResolved` are dialled — see
 * acl.ts for the rule. Nothing is ever dialled before the check.
 */
import { lookup } from "node:dns/promises";
import { connect, isIP, type Socket } from "node:net";
import { isLoopback, normalizeIp, parseHostPort } from "../util/addr.js";
import type { Acl } from "./acl.js";
import { StreamRefusedError, toStreamRefused } from "./stream-errors.js";

export interface DialOptions {
  /** Name → addresses; defaults to the system resolver (getaddrinfo, so /etc/hosts counts). */
  resolve?: (name: string) => Promise<string[]>;
  /** Per address tried; default 10 s. */
  connectTimeoutMs?: number;
  /** Dial loopback addresses only, whatever the ACL says (demo and test setups). */
  localOnly?: boolean;
  /** Aborting rejects with CANCELLED and closes a half-made connection. */
  signal?: AbortSignal;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export async function dialTarget(target: string, acl: Acl, opts: DialOptions = {}): Promise<Socket> {
  const parsed = parseHostPort(target);
  if (!parsed.ok) throw new StreamRefusedError("BAD_TARGET", `bad target "${target}": ${parsed.error}`);
  const { host, port } = parsed.value;
  const allowedHere = (ip: string) => !opts.localOnly || isLoopback(ip);
  const denied = () => new StreamRefusedError("NOT_ALLOWED", `the exit policy does not allow ${target}`);

  let candidates: string[];
  if (isIP(host) !== 0) {
    const ip = normalizeIp(host);
    if (!acl.allowsAddress(ip, port) || !allowedHere(ip)) throw denied();
    candidates = [ip];
  } else {
    // No name rule and no address rule for this port: refuse without asking DNS at all.
    if (!acl.allowsName(host, port) && !acl.hasAddressRuleFor(port)) throw denied();
    const addresses = await resolveName(host, opts.resolve ?? systemResolve);
    candidates = addresses
      .map(normalizeIp)
      .filter((ip) => acl.allowsResolved(host, ip, port) && allowedHere(ip));
    if (candidates.length === 0) throw denied();
  }

  let lastError: StreamRefusedError | undefined;
  for (const ip of candidates) {
    if (opts.signal?.aborted) throw new StreamRefusedError("CANCELLED", "the stream open was cancelled");
    try {
      return await connectOnce(ip, port, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, opts.signal);
    } catch (err) {
      lastError = toStreamRefused(err);
      if (lastError.code === "CANCELLED") break;
    }
  }
  throw lastError!;
}

async function resolveName(name: string, resolve: (name: string) => Promise<string[]>): Promise<string[]> {
  let addresses: string[];
  try {
    addresses = await resolve(name);
  } catch (err) {
    const refusal = toStreamRefused(err);
    if (refusal.code === "CANCELLED" || refusal.code === "NAME_NOT_RESOLVED") throw refusal;
    throw new StreamRefusedError("NAME_NOT_RESOLVED", `cannot resolve ${name}`, { cause: err });
  }
  const ips = addresses.filter((a) => isIP(a) !== 0);
  if (ips.length === 0) throw new StreamRefusedError("NAME_NOT_RESOLVED", `${name} has no addresses`);
  return ips;
}

async function systemResolve(name: string): Promise<string[]> {
  const found = await lookup(name, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

function connectOnce(ip: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a FIN from the target must end only one direction of the spliced stream.
    const socket = connect({ host: ip, port, allowHalfOpen: true, noDelay: true });
    const fail = (err: StreamRefusedError) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error) => fail(toStreamRefused(err));
    const onAbort = () => fail(new StreamRefusedError("CANCELLED", "the stream open was cancelled"));
    const timer = setTimeout(
      () => fail(new StreamRefusedError("TIMEOUT", `connecting to ${ip} port ${port} timed out`)),
      timeoutMs,
    );
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
    };
    socket.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      cleanup();
      resolve(socket);
    });
  });
}
