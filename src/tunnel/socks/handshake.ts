/**
 * The server side of one SOCKS5 handshake as a sans-I/O state machine: fed the client's bytes in
 * any chunking, it returns what to send and what to do. No sockets, no timers — the adapter in
 * server.ts owns those.
 *
 *   greeting ─▶ [auth] ─▶ request ─▶ connecting ─▶ done     (any step may end in closed)
 *
 * Buffering is bounded by construction: every message announces its length within its first
 * bytes and is at most 513 bytes (RFC 1929 request), so the pending buffer never holds more than
 * one partial message plus the chunk just fed.
 */
import type { StreamRefusalCode } from "../stream-errors.js";
import { AuthMethod, Command, Reply } from "./constants.js";
import { credentialsMatch, type SocksCredentials } from "./credentials.js";
import {
  decodeGreeting,
  decodeRequest,
  decodeUserPass,
  encodeAuthStatus,
  encodeMethodSelection,
  encodeReply,
} from "./messages.js";
import { replyForRefusal } from "./reply-codes.js";

export type HandshakeState = "greeting" | "auth" | "request" | "connecting" | "done" | "closed";

export type HandshakeAction =
  | { type: "send"; data: Uint8Array }
  /** Open a stream to `target`; then call succeeded() or refused(). `earlyData` followed the request. */
  | { type: "connect"; target: string; earlyData: Uint8Array }
  /** Close the connection (after sending what came before). `why` is for logs. */
  | { type: "close"; why: string };

export class SocksHandshake {
  private pending: Uint8Array = new Uint8Array(0);
  private _state: HandshakeState = "greeting";

  constructor(private readonly credentials?: SocksCredentials) {}

  get state(): HandshakeState {
    return this._state;
  }

  /** Bytes from the client. Must not be called once a `connect` or `close` action was returned. */
  feed(chunk: Uint8Array): HandshakeAction[] {
    if (this._state === "connecting" || this._state === "done" || this._state === "closed") return [];
    this.pending = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const actions: HandshakeAction[] = [];
    // Each step consumes one whole message or returns false (needs more bytes, or finished).
    while (this.step(actions));
    return actions;
  }

  /** The stream is open: the success reply to send before splicing. */
  succeeded(): Uint8Array {
    this._state = "done";
    return encodeReply(Reply.SUCCEEDED);
  }

  /** The stream open failed: the failure reply to send before closing. */
  refused(code: StreamRefusalCode): Uint8Array {
    this._state = "closed";
    return encodeReply(replyForRefusal(code));
  }

  private step(actions: HandshakeAction[]): boolean {
    switch (this._state) {
      case "greeting":
        return this.onGreeting(actions);
      case "auth":
        return this.onAuth(actions);
      case "request":
        return this.onRequest(actions);
      default:
        return false;
    }
  }

  private onGreeting(actions: HandshakeAction[]): boolean {
    const d = decodeGreeting(this.pending);
    if (d.status === "incomplete") return false;
    if (d.status === "invalid")
      return this.fail(actions, encodeMethodSelection(AuthMethod.NO_ACCEPTABLE), d.why);
    const wanted = this.credentials ? AuthMethod.USERNAME_PASSWORD : AuthMethod.NONE;
    if (!d.value.methods.includes(wanted)) {
      const why = this.credentials
        ? "client did not offer username/password"
        : "client did not offer no-auth";
      return this.fail(actions, encodeMethodSelection(AuthMethod.NO_ACCEPTABLE), why);
    }
    this.consume(d.size);
    actions.push({ type: "send", data: encodeMethodSelection(wanted) });
    this._state = this.credentials ? "auth" : "request";
    return true;
  }

  private onAuth(actions: HandshakeAction[]): boolean {
    const d = decodeUserPass(this.pending);
    if (d.status === "incomplete") return false;
    if (d.status === "invalid") return this.fail(actions, encodeAuthStatus(false), d.why);
    if (!credentialsMatch(this.credentials!, d.value.username, d.value.password))
      return this.fail(actions, encodeAuthStatus(false), "wrong username or password");
    this.consume(d.size);
    actions.push({ type: "send", data: encodeAuthStatus(true) });
    this._state = "request";
    return true;
  }

  private onRequest(actions: HandshakeAction[]): boolean {
    const d = decodeRequest(this.pending);
    if (d.status === "incomplete") return false;
    if (d.status === "invalid") return this.fail(actions, encodeReply(d.reply), d.why);
    if (d.command !== Command.CONNECT) {
      const why =
        d.command === Command.BIND || d.command === Command.UDP_ASSOCIATE
          ? "unsupported command"
          : "bad command";
      return this.fail(actions, encodeReply(Reply.COMMAND_NOT_SUPPORTED), `${why} ${d.command}`);
    }
    this.consume(d.size);
    const earlyData = this.pending;
    this.pending = new Uint8Array(0);
    actions.push({ type: "connect", target: d.target, earlyData });
    this._state = "connecting";
    return false;
  }

  private fail(actions: HandshakeAction[], reply: Uint8Array, why: string): false {
    actions.push({ type: "send", data: reply }, { type: "close", why });
    this._state = "closed";
    this.pending = new Uint8Array(0);
    return false;
  }

  private consume(n: number): void {
    this.pending = this.pending.subarray(n);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
