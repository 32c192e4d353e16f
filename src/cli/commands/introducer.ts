import type { Command } from "commander";
import { loadIntroducerConfig } from "../../config/load.js";
import { readPrivateKeyFile } from "../../crypto/keys.js";
import { startIntroducer } from "../../introducer/server.js";
import { parseHostPort } from "../../util/addr.js";
import { createLogger } from "../../util/logger.js";
import { action } from "../run.js";

export function register(program: Command): void {
  program
    .command("introducer")
    .description("run an introducer (rendezvous server) on UDP and TCP")
    .requiredOption("-c, --config <file>", "introducer config file")
    .option("--log-level <level>", "override log.level from the config")
    .action(
      action(async (opts: { config: string; logLevel?: string }) => {
        const cfg = loadIntroducerConfig(opts.config);
        const logger = createLogger({ level: opts.logLevel ?? cfg.log.level, name: "introducer" });
        const listen = parseHostPort(cfg.listen, { defaultPort: 2345 });
        if (!listen.ok) throw new Error(listen.error);
        const running = await startIntroducer({
          listen: listen.value,
          privateKey: readPrivateKeyFile(cfg.privateKeyPath),
          peers: cfg.peers.map((p) => ({ name: p.name, publicKey: Buffer.from(p.publicKey, "base64") })),
          logger,
        });
        logger.info(
          { udp: running.udpPort, tcp: running.tcpPort, peers: cfg.peers.length },
          "introducer listening",
        );
        // prom-client is loaded only when metrics are configured (see Daemon.start).
        const metricsListen = cfg.metrics?.listen;
        const metrics = metricsListen
          ? await import("../../daemon/metrics.js").then((m) =>
              m.serveMetrics(metricsListen, m.introducerRegistry(running), logger),
            )
          : undefined;
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            logger.info({ signal }, "stopping");
            void metrics?.close();
            running.close().then(resolve, resolve);
          };
          process.once("SIGTERM", () => stop("SIGTERM"));
          process.once("SIGINT", () => stop("SIGINT"));
        });
        logger.flush();
      }),
    );
}
