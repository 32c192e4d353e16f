import type { Command } from "commander";
import { loadDaemonConfig } from "../../config/load.js";
import { readPrivateKeyFile } from "../../crypto/keys.js";
import { gatherObservations } from "../../netcheck/gather.js";
import { judge, renderReport } from "../../netcheck/verdict.js";
import { parseHostPort } from "../../util/addr.js";
import { action } from "../run.js";

export const DEFAULT_CONFIG = "/etc/p2ptun/config.yaml";

export function register(program: Command): void {
  program
    .command("netcheck")
    .description("report what the NAT in front of this machine does and what that means for punching")
    .option("-c, --config <file>", "daemon config (introducers and key)", DEFAULT_CONFIG)
    .option("--json", "print JSON")
    .action(
      action(async (opts: { config: string; json?: boolean }) => {
        const cfg = loadDaemonConfig(opts.config);
        const introducers = cfg.introducers.flatMap((i) => {
          const a = parseHostPort(i.address, { defaultPort: 2345 });
          return a.ok
            ? [{ label: i.address, address: a.value, publicKey: Buffer.from(i.publicKey, "base64") }]
            : [];
        });
        const obs = await gatherObservations({
          privateKey: readPrivateKeyFile(cfg.privateKeyPath),
          introducers,
        });
        const report = judge(obs);
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ ...report, observations: obs }, null, 2)}\n`
            : renderReport(report, obs),
        );
        if (!report.reachable) process.exitCode = 1;
      }),
    );
}
