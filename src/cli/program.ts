/** The p2ptun command line: one file per command under ./commands, each thin. */
import { createRequire } from "node:module";
import { Command } from "commander";
import * as check from "./commands/check.js";
import * as demo from "./commands/demo.js";
import * as introducer from "./commands/introducer.js";
import * as keygen from "./commands/keygen.js";
import * as netcheck from "./commands/netcheck.js";
import * as ping from "./commands/ping.js";
import * as pubkey from "./commands/pubkey.js";
import * as status from "./commands/status.js";
import * as up from "./commands/up.js";

const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };

const program = new Command()
  .name("p2ptun")
  .description(
    "Peer-to-peer tunnels through NATs: ssh -L style forwards and a SOCKS5 endpoint to a friend's machine",
  )
  .version(pkg.version);

for (const cmd of [up, introducer, keygen, pubkey, status, ping, netcheck, check, demo])
  cmd.register(program);

await program.parseAsync(process.argv);
