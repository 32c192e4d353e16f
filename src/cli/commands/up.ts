import type { Command } from "commander";
import { loadDaemonConfig } from "../../config/load.js";
import { Daemon } from "../../daemon/daemon.js";
import { ConfigError } from "../../util/errors.js";
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
        // SIGHUP: reload; an invalid new config is refused and the running one kept.
        process.on("SIGHUP", () => {
          let next: ReturnType<typeof loadDaemonConfig>;
          try {
            next = loadDaemonConfig(opts.config);
          } catch (e) {
            const lines = e instanceof ConfigError ? e.issues : [(e as Error).message];
            logger.error({ errors: lines }, `reload refused, keeping the running config: ${lines[0]}`);
            return;
          }
          daemon.reload(next).catch((e) => logger.error({ err: (e as Error).message }, "reload failed"));
        });
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            logger.info({ signal }, "stopping: closing streams and listeners");
            daemon.close().then(resolve, resolve);
          };
          process.once("SIGTERM", () => stop("SIGTERM"));
          process.once("SIGINT", () => stop("SIGINT"));
        });
        logger.info("stopped");
        logger.flush();
        // Everything is closed; don't let a stray handle keep a stopping service alive.
        setTimeout(() => process.exit(0), 1000).unref();
      }),
    );
}
