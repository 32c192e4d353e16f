/**
 * The SOCKS5 endpoint (issue 5) with real clients: joe's daemon listens on 127.0.0.1:1080 (no
 * auth) and 127.0.0.1:1081 (username/password), exiting through bob, behind another NAT. Bob's
 * host runs HTTP servers; names resolve only there (/etc/netns/NS/hosts, which `ip netns exec`
 * bind-mounts over /etc/hosts), so a page fetched by name proves the exit peer resolved it.
 *
 * Bob allows joe `*.lan:8080` (a domain pattern) and `10.0.2.0/24:8081-8082` (CIDR, port range).
 * Forbidden targets must get reply 0x02 and never be dialled: each server prints a line per
 * accepted connection, and after the refusals a marker connection made on bob's host must be the
 * first one a forbidden server ever saw.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeNatlab, failOnLeftoverNamespaces, useLab, waitUntil } from "./lab.js";
import { connected, P2pWorld, registered } from "./p2p-world.js";

failOnLeftoverNamespaces();

const WEB_SERVER = join(import.meta.dirname, "socks-web-server.mjs");
const SOCKS_CLIENT = join(import.meta.dirname, "socks-client.mjs");
const OPEN_PORT = 1080;
const AUTH_PORT = 1081;
const USER = "joe";
const PASSWORD = "correct horse battery staple";
const BOB_IP = "10.0.2.2"; // bob's host behind an eim-drop NAT (lab-topology.ts)

/** SOCKS5 reply codes (RFC 1928). */
const NOT_ALLOWED = 0x02;
const COMMAND_NOT_SUPPORTED = 0x07;

interface ClientResult {
  ok: boolean;
  body?: string;
  error?: string;
  reply?: number | null;
}

describeNatlab("SOCKS5 through joe's daemon, exiting on bob's side of two NATs", () => {
  const ctx = useLab({ a: { nat: "eim-drop" }, b: { nat: "eim-drop" } });
  let w: P2pWorld;
  let web: ChildProcess;
  let webOut = "";
  const netnsDirs: string[] = [];

  const count = (name: string) => webOut.split("\n").filter((l) => l === `connection ${name}`).length;

  /** curl in joe's namespace through a SOCKS endpoint; `proxy` is a curl --proxy URL. */
  const curl = (proxy: string, url: string) =>
    ctx.lab.a.exec(["curl", "-sS", "--max-time", "20", "--proxy", proxy, url], { timeoutMs: 30_000 });

  /** The `socks` npm package in joe's namespace (see socks-client.mjs). */
  const socksClient = async (
    port: number,
    command: "connect" | "bind",
    host: string,
    targetPort: number,
    auth: string[] = [],
  ): Promise<ClientResult> => {
    const r = await ctx.lab.a.exec(
      [process.execPath, SOCKS_CLIENT, String(port), command, host, String(targetPort), ...auth],
      { timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ClientResult;
  };

  beforeAll(async () => {
    expect(ctx.lab.b.ip).toBe(BOB_IP);
    // Names that only bob's namespace knows, and no DNS server in either namespace (the lab has
    // none; a resolver that does not time out keeps the lookups quick). Written before anything
    // starts in them: `ip netns exec` bind-mounts these files over /etc/hosts and /etc/resolv.conf.
    const bobHosts = [
      "127.0.0.1 localhost",
      `${BOB_IP} web.lan`,
      "127.0.0.1 sneaky.lan", // allowed by *.lan, but resolves to bob's own loopback
      `${BOB_IP} web.example`, // right address, but no rule allows the name or port 8080 by address
    ];
    for (const [ns, hosts] of [
      [ctx.lab.a.ns, ["127.0.0.1 localhost"]],
      [ctx.lab.b.ns, bobHosts],
    ] as const) {
      const dir = join("/etc/netns", ns);
      mkdirSync(dir, { recursive: true });
      netnsDirs.push(dir);
      writeFileSync(join(dir, "hosts"), `${hosts.join("\n")}\n`);
      writeFileSync(join(dir, "resolv.conf"), "nameserver 127.0.0.1\n");
    }

    web = ctx.lab.b.spawn([
      process.execPath,
      WEB_SERVER,
      `web=${BOB_IP}:8080`,
      `alt=${BOB_IP}:8081`,
      `forbidden=${BOB_IP}:9090`,
      "loopback=127.0.0.1:8080",
    ]);
    web.stdout!.setEncoding("utf8").on("data", (d: string) => {
      webOut += d;
    });
    await waitUntil(
      async () => (webOut.match(/^listening /gm) ?? []).length === 4,
      "the web servers",
      10_000,
    );

    w = new P2pWorld(ctx.lab, {
      bobAllows: ["*.lan:8080", "10.0.2.0/24:8081-8082"],
      joe: {
        socks: [
          { listen: `127.0.0.1:${OPEN_PORT}`, peer: "bob" },
          { listen: `127.0.0.1:${AUTH_PORT}`, peer: "bob", username: USER, password: PASSWORD },
        ],
      },
    });
    w.startIntroducer();
    w.startBob();
    await w.waitBob(registered);
    w.startJoe();
    const joe = await w.waitJoe(connected);
    expect(joe.peers[0].path).toBe("udp");
    expect(joe.listeners.filter((l) => l.kind === "socks" && l.listening)).toHaveLength(2);
  }, 60_000);

  afterAll(async () => {
    await w?.destroy();
    for (const dir of netnsDirs) rmSync(dir, { recursive: true, force: true });
  });

  describe("allowed targets", () => {
    it("curl --socks5-hostname fetches a page by name, resolved on bob's side (*.lan:8080)", async () => {
      // The name means nothing on joe's side, and what it means on bob's.
      expect((await ctx.lab.a.exec(["getent", "hosts", "web.lan"])).code).not.toBe(0);
      expect((await ctx.lab.b.execChecked(["getent", "hosts", "web.lan"])).stdout).toMatch(/^10\.0\.2\.2\s/);

      const r = await curl(`socks5h://127.0.0.1:${OPEN_PORT}`, "http://web.lan:8080/");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("hello from web (web.lan:8080)\n");
    });

    it("curl --socks5 fetches a page by address (10.0.2.0/24:8081-8082)", async () => {
      const r = await ctx.lab.a.exec(
        ["curl", "-sS", "--max-time", "20", "--socks5", `127.0.0.1:${OPEN_PORT}`, `http://${BOB_IP}:8081/`],
        { timeoutMs: 30_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`hello from alt (${BOB_IP}:8081)\n`);
    });

    it("the socks npm client connects by address and by name", async () => {
      expect(await socksClient(OPEN_PORT, "connect", BOB_IP, 8081)).toEqual({
        ok: true,
        body: `hello from alt (${BOB_IP}:8081)\n`,
      });
      expect(await socksClient(OPEN_PORT, "connect", "web.lan", 8080)).toEqual({
        ok: true,
        body: "hello from web (web.lan:8080)\n",
      });
    });
  });

  describe("forbidden targets", () => {
    // target → the server it would reach if it were dialled
    const forbidden: [string, number, string][] = [
      [BOB_IP, 9090, "forbidden"], // an address on a port no rule allows
      ["web.lan", 9090, "forbidden"], // an allowed name on a port its rule does not cover
      ["sneaky.lan", 8080, "loopback"], // allowed name and port, resolves to a forbidden address
      ["127.0.0.1", 8080, "loopback"], // bob's own loopback by address
      ["web.example", 8080, "web"], // a name outside *.lan, whose address has no rule for 8080
    ];

    it("get SOCKS reply 0x02 from curl and from the socks client, and are never dialled", async () => {
      const before = { forbidden: count("forbidden"), loopback: count("loopback"), web: count("web") };
      for (const [host, port] of forbidden) {
        const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
        const c = await curl(`socks5h://127.0.0.1:${OPEN_PORT}`, `http://${target}/`);
        // curl: 97 is CURLE_PROXY; the message carries the reply code.
        expect(c.code, `${target}: ${c.stderr}`).toBe(97);
        expect(c.stderr, target).toMatch(/\(2\)|not allowed/i);
        const s = await socksClient(OPEN_PORT, "connect", host, port);
        expect(s, target).toMatchObject({ ok: false, reply: NOT_ALLOWED });
      }
      // Markers: one direct connection to each server from bob's own host. Each server accepts
      // in order, so anything the exit had dialled would have been counted before its marker.
      await ctx.lab.b.execChecked(["curl", "-sS", "--max-time", "5", `http://${BOB_IP}:9090/`]);
      await ctx.lab.b.execChecked(["curl", "-sS", "--max-time", "5", "http://127.0.0.1:8080/"]);
      await ctx.lab.b.execChecked(["curl", "-sS", "--max-time", "5", `http://${BOB_IP}:8080/`]);
      await waitUntil(
        async () =>
          count("forbidden") > before.forbidden &&
          count("loopback") > before.loopback &&
          count("web") > before.web,
        "the marker connections",
        10_000,
      );
      expect(count("forbidden")).toBe(before.forbidden + 1);
      expect(count("loopback")).toBe(before.loopback + 1);
      expect(count("web")).toBe(before.web + 1);
      expect(before.forbidden + before.loopback).toBe(0);

      // Both sides say why.
      await waitUntil(async () => w.log("joe").includes("SOCKS5 connect refused"), "joe's log", 5_000);
      expect(w.log("bob")).toMatch(
        /"code":"NOT_ALLOWED".*"msg":"exit: stream refused"|exit: stream refused.*NOT_ALLOWED/,
      );
      expect(w.log("bob")).toContain("sneaky.lan:8080");
      expect(w.log("joe")).toMatch(/NOT_ALLOWED/);
    });

    it("BIND is answered 0x07 (command not supported)", async () => {
      const s = await socksClient(OPEN_PORT, "bind", BOB_IP, 8081);
      expect(s).toMatchObject({ ok: false, reply: COMMAND_NOT_SUPPORTED });
    });
  });

  describe("username/password (RFC 1929) on the second endpoint", () => {
    it("lets the right credentials in", async () => {
      const r = await curl(
        `socks5h://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${AUTH_PORT}`,
        "http://web.lan:8080/",
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("hello from web (web.lan:8080)\n");
      expect(await socksClient(AUTH_PORT, "connect", "web.lan", 8080, [USER, PASSWORD])).toEqual({
        ok: true,
        body: "hello from web (web.lan:8080)\n",
      });
    });

    it("refuses a wrong password and a client without credentials", async () => {
      const webBefore = count("web");
      const wrong = await curl(`socks5h://${USER}:nope@127.0.0.1:${AUTH_PORT}`, "http://web.lan:8080/");
      expect(wrong.code).toBe(97);
      expect(wrong.stderr).toMatch(/rejected|authentication/i);
      const none = await curl(`socks5h://127.0.0.1:${AUTH_PORT}`, "http://web.lan:8080/");
      expect(none.code).toBe(97);
      const s = await socksClient(AUTH_PORT, "connect", "web.lan", 8080, [USER, "nope"]);
      expect(s.ok).toBe(false);
      expect(s.error).toMatch(/Authentication failed/i);
      // Nothing reached the web server: the marker is the next connection it sees.
      await ctx.lab.b.execChecked(["curl", "-sS", "--max-time", "5", `http://${BOB_IP}:8080/`]);
      await waitUntil(async () => count("web") > webBefore, "the marker connection", 10_000);
      expect(count("web")).toBe(webBefore + 1);
    });
  });
});
