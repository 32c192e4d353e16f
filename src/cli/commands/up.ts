import type { Command } from "commander";
import { loadDaemonConfig } from "../../config/load.js";
import { Daemon } from "../../daemon/daemon.js";
import { createLogger } from "../../util/logger.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("up")
    .description("run the daemon: register with the introducers, punch to peers, serve forwards and SOCKS")
    .requiredOption("-c, --config <file>", "daemon config file")
    .option("--log-level <level>", "override log.level from the config")
    .action(
      action(async (opts: { config: string; logLevel?: string }) => {
        const cfg = loadDaemonConfig(opts.config);
        const logger = createLogger({ level: opts.logLevel ?? cfg.log.level, name: cfg.name });
        const daemon = await Daemon.start(cfg, logger);
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            logger.info({ signal }, "stopping");
            daemon.close().then(resolve, resolve);
          };
          process.once("SIGTERM", () => stop("SIGTERM"));
          process.once("SIGINT", () => stop("SIGINT"));
        });
        logger.flush();
      }),
    );
}
