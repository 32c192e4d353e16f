import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { encodeKey, parsePrivateKey, publicKeyOf, readPrivateKeyFile } from "../../crypto/keys.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("pubkey [file]")
    .description("print the public key of a private key read from FILE or stdin")
    .action(
      action((file?: string) => {
        const priv = file ? readPrivateKeyFile(file) : parsePrivateKey(readFileSync(0, "utf8"), "stdin");
        process.stdout.write(`${encodeKey(publicKeyOf(priv))}\n`);
      }),
    );
}
