/**
 * Writes a complete small world into a folder: keys and configs for an introducer and two
 * peers (joe and bob), where joe forwards a local port to a target on bob's side. Used by
 * `p2ptun demo`, the loopback end-to-end tests and the benchmark.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { encodeKey, generateKeyPair, writePrivateKeyFile } from "../crypto/keys.js";

export interface WorldOptions {
  dir: string;
  introducerHost: string;
  introducerPort: number;
  /** joe's forward: listen here, connect to `target` on bob's side. */
  forwardListen: string;
  target: string;
  /** more forwards of joe's, to targets bob allows too */
  extraForwards?: { listen: string; connect: string }[];
  /** extra keys merged into each daemon config */
  joe?: Record<string, unknown>;
  bob?: Record<string, unknown>;
  logLevel?: string;
  /** bob's allow list for joe; default: just the target */
  bobAllows?: string[];
  socksListen?: string;
}

export interface World {
  dir: string;
  introducerConfig: string;
  joeConfig: string;
  bobConfig: string;
  joeControl: string;
  bobControl: string;
  keys: Record<"introducer" | "joe" | "bob", string>;
}

export function writeWorld(o: WorldOptions): World {
  const keys = {} as Record<"introducer" | "joe" | "bob", string>;
  for (const who of ["introducer", "joe", "bob"] as const) {
    const kp = generateKeyPair();
    writePrivateKeyFile(join(o.dir, `${who}.key`), kp.privateKey);
    keys[who] = encodeKey(kp.publicKey);
  }
  const level = o.logLevel ?? "info";
  const introducer = {
    listen: `${o.introducerHost}:${o.introducerPort}`,
    privateKeyFile: "./introducer.key",
    peers: [
      { name: "joe", publicKey: keys.joe },
      { name: "bob", publicKey: keys.bob },
    ],
    log: { level },
  };
  const introducers = [{ address: `${o.introducerHost}:${o.introducerPort}`, publicKey: keys.introducer }];
  const joe = {
    name: "joe",
    privateKeyFile: "./joe.key",
    introducers,
    control: "./joe.sock",
    peers: [{ name: "bob", publicKey: keys.bob, allow: [] }],
    forwards: [
      { listen: o.forwardListen, peer: "bob", connect: o.target },
      ...(o.extraForwards ?? []).map((f) => ({ ...f, peer: "bob" })),
    ],
    ...(o.socksListen ? { socks: [{ listen: o.socksListen, peer: "bob" }] } : {}),
    log: { level },
    ...o.joe,
  };
  const bob = {
    name: "bob",
    privateKeyFile: "./bob.key",
    introducers,
    control: "./bob.sock",
    peers: [
      {
        name: "joe",
        publicKey: keys.joe,
        allow: o.bobAllows ?? [o.target, ...(o.extraForwards ?? []).map((f) => f.connect)],
      },
    ],
    log: { level },
    ...o.bob,
  };
  const world: World = {
    dir: o.dir,
    introducerConfig: join(o.dir, "introducer.yaml"),
    joeConfig: join(o.dir, "joe.yaml"),
    bobConfig: join(o.dir, "bob.yaml"),
    joeControl: join(o.dir, "joe.sock"),
    bobControl: join(o.dir, "bob.sock"),
    keys,
  };
  writeFileSync(world.introducerConfig, stringify(introducer));
  writeFileSync(world.joeConfig, stringify(joe));
  writeFileSync(world.bobConfig, stringify(bob));
  return world;
}
