import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Acl } from "../../src/tunnel/acl.js";
import { dialTarget } from "../../src/tunnel/exit-dialer.js";
import { StreamRefusedError } from "../../src/tunnel/stream-errors.js";

/** A TCP server on 127.0.0.1 that counts connections and echoes, to prove what was (not) dialled. */
let server: Server;
let port: number;
let accepted: number;
const open: Socket[] = [];

beforeEach(async () => {
  accepted = 0;
  server = createServer((s) => {
    accepted++;
    open.push(s);
    s.pipe(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await new Promise((r) => server.close(r));
});

function acl(...entries: string[]): Acl {
  const r = Acl.parse(entries);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

async function refusal(p: Promise<unknown>): Promise<StreamRefusedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StreamRefusedError);
  return err as StreamRefusedError;
}

async function echoes(socket: Socket): Promise<string> {
  socket.write("ping");
  const [data] = await once(socket, "data");
  socket.destroy();
  return String(data);
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

/** A non-loopback IPv4 address of this host, if it has one: an "ordinary" address to dial. */
function lanAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
}

const resolver = (table: Record<string, string[]>) => async (name: string) => {
  const found = table[name];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: "ENOTFOUND" });
  return found;
};

describe("dialTarget", () => {
  it("connects to an allowed IP target", async () => {
    const socket = await dialTarget(`127.0.0.1:${port}`, acl(`127.0.0.1:${port}`));
    expect(await echoes(socket)).toBe("ping");
    expect(accepted).toBe(1);
  });

  it("refuses a forbidden IP target without dialling it", async () => {
    const err = await refusal(dialTarget(`127.0.0.1:${port}`, acl(`127.0.0.1:${port + 1}`, "10.0.0.0/8:*")));
    expect(err.code).toBe("NOT_ALLOWED");
    expect(err.wireCode).toBe(1);
    expect(accepted).toBe(0);
  });

  it("an empty policy refuses everything", async () => {
    expect((await refusal(dialTarget(`127.0.0.1:${port}`, Acl.denyAll))).code).toBe("NOT_ALLOWED");
    expect(accepted).toBe(0);
  });

  it("maps a closed port to CONNECTION_REFUSED", async () => {
    const closed = await freePort();
    const err = await refusal(dialTarget(`127.0.0.1:${closed}`, acl("127.0.0.1:*")));
    expect(err.code).toBe("CONNECTION_REFUSED");
  });

  it("rejects a malformed target as BAD_TARGET", async () => {
    for (const t of ["", "nohost", "127.0.0.1:0", "::1:22", "bad name:22", "127.0.0.1:99999"]) {
      expect((await refusal(dialTarget(t, acl("*:*")))).code).toBe("BAD_TARGET");
    }
    expect(accepted).toBe(0);
  });

  it("does not even ask DNS when no rule could allow the name on that port", async () => {
    const lookups: string[] = [];
    const resolve = async (name: string) => {
      lookups.push(name);
      return ["127.0.0.1"];
    };
    const err = await refusal(dialTarget(`svc.test:${port}`, acl(`other.test:${port}`, "*:1"), { resolve }));
    expect(err.code).toBe("NOT_ALLOWED");
    expect(lookups).toEqual([]);
    expect(accepted).toBe(0);
  });

  it("a name allowed by an address rule on what it resolves to is dialled", async () => {
    const socket = await dialTarget(`svc.test:${port}`, acl(`127.0.0.1:${port}`), {
      resolve: resolver({ "svc.test": ["127.0.0.1"] }),
    });
    expect(await echoes(socket)).toBe("ping");
    expect(accepted).toBe(1);
  });

  // Skipped only on a host whose interfaces are all loopback (nothing non-loopback to dial);
  // the earlier tests cover the rules themselves on loopback.
  it.skipIf(!lanAddress())("a name rule reaches an ordinary (non-loopback) address", async () => {
    const ip = lanAddress()!;
    const lan = createServer((s) => s.pipe(s)).listen(0, ip);
    await once(lan, "listening");
    const lanPort = (lan.address() as AddressInfo).port;
    try {
      const socket = await dialTarget(`nas.test:${lanPort}`, acl(`*.test:${lanPort}`), {
        resolve: resolver({ "nas.test": [ip] }),
      });
      expect(await echoes(socket)).toBe("ping");
    } finally {
      lan.close();
    }
  });

  it("a name rule does not reach loopback: name resolving to 127.0.0.1 is NOT_ALLOWED, never dialled", async () => {
    const err = await refusal(
      dialTarget(`evil.test:${port}`, acl(`*.test:${port}`), {
        resolve: resolver({ "evil.test": ["127.0.0.1"] }),
      }),
    );
    expect(err.code).toBe("NOT_ALLOWED");
    expect(accepted).toBe(0);
  });

  it("a name resolving to a forbidden address is NOT_ALLOWED, never dialled", async () => {
    const err = await refusal(
      dialTarget(`svc.test:${port}`, acl(`10.0.0.0/8:${port}`), {
        resolve: resolver({ "svc.test": ["127.0.0.1"] }),
      }),
    );
    expect(err.code).toBe("NOT_ALLOWED");
    expect(accepted).toBe(0);
  });

  it("dials only the allowed addresses among those a name resolves to", async () => {
    const socket = await dialTarget(`svc.test:${port}`, acl(`127.0.0.1:${port}`), {
      resolve: resolver({ "svc.test": ["192.0.2.1", "not an ip", "::ffff:127.0.0.1"] }),
      connectTimeoutMs: 5_000,
    });
    expect(socket.remoteAddress).toBe("127.0.0.1");
    expect(await echoes(socket)).toBe("ping");
  });

  it("localhost works under an address rule, through the system resolver", async () => {
    const socket = await dialTarget(`localhost:${port}`, acl(`127.0.0.1:${port}`));
    expect(await echoes(socket)).toBe("ping");
  });

  it("maps an unresolvable name to NAME_NOT_RESOLVED", async () => {
    const err = await refusal(dialTarget("nowhere.test:80", acl("*.test:80"), { resolve: resolver({}) }));
    expect(err.code).toBe("NAME_NOT_RESOLVED");
    const empty = await refusal(dialTarget("empty.test:80", acl("*.test:80"), { resolve: async () => [] }));
    expect(empty.code).toBe("NAME_NOT_RESOLVED");
    const odd = await refusal(
      dialTarget("odd.test:80", acl("*.test:80"), {
        resolve: async () => {
          throw new Error("resolver exploded");
        },
      }),
    );
    expect(odd.code).toBe("NAME_NOT_RESOLVED");
  });

  it("localOnly refuses a non-loopback address even when the ACL allows it", async () => {
    const err = await refusal(dialTarget("192.0.2.1:80", acl("*:*"), { localOnly: true }));
    expect(err.code).toBe("NOT_ALLOWED");
    const socket = await dialTarget(`127.0.0.1:${port}`, acl("*:*"), { localOnly: true });
    expect(await echoes(socket)).toBe("ping");
  });

  it("an aborted signal cancels the open", async () => {
    const ctl = new AbortController();
    ctl.abort();
    const err = await refusal(dialTarget(`127.0.0.1:${port}`, acl("*:*"), { signal: ctl.signal }));
    expect(err.code).toBe("CANCELLED");
  });

  it("returns a half-open capable socket: the target's FIN does not end our direction", async () => {
    const socket = await dialTarget(`127.0.0.1:${port}`, acl(`127.0.0.1:${port}`));
    while (open.length === 0) await new Promise((r) => setImmediate(r));
    const far = open[0];
    far.unpipe(far);
    far.end(); // target half-closes
    socket.resume();
    await once(socket, "end");
    expect(socket.writable).toBe(true);
    const got = once(far, "data");
    far.resume(); // unpipe left it paused
    socket.write("after-fin");
    expect(String((await got)[0])).toBe("after-fin");
    socket.destroy();
  });
});
