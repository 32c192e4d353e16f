import type { Command } from "commander";
import { encodeKey, generateKeyPair, writePrivateKeyFile } from "../../crypto/keys.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("keygen")
    .description("generate a private key; with -o write it to FILE (mode 0600) and print the public key")
    .option("-o, --output <file>", "write the private key to this file instead of stdout")
    .action(
      action((opts: { output?: string }) => {
        const kp = generateKeyPair();
        if (opts.output) {
          writePrivateKeyFile(opts.output, kp.privateKey);
          process.stdout.write(`${encodeKey(kp.publicKey)}\n`);
        } else {
          process.stdout.write(`${encodeKey(kp.privateKey)}\n`);
        }
      }),
    );
}
