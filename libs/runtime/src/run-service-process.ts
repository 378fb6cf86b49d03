import { loadConfig } from '@chatmesh/config';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { collectConfigSections } from './config-sections.js';
import { runMain } from './run-main.js';
import type { ServiceModule } from './service-module.js';
import { installCrashHandlers } from './crash-handlers.js';
import { installShutdown } from './shutdown.js';
import { connectStackClients } from './stack-clients.js';
import { retentionOf } from './retention-config.js';
import { startRuntime } from './start-runtime.js';

/**
 * Runs one service as its own process (stack mode, one process per service): reads the configuration,
 * connects the Kafka bus, the registry codec and the Cassandra store, starts the service and its ops
 * server, and stops gracefully on SIGTERM/SIGINT. Each service's `main.ts` is one call to this.
 * Bad configuration exits 2 with the list of problems, a failed start exits 1 (see {@link runMain}).
 */
export async function runServiceProcess(module: ServiceModule): Promise<void> {
  await runMain(async () => {
    // A lone service process is stack mode unless told otherwise, so missing endpoints are reported clearly.
    const config = loadConfig({
      env: { CHATMESH_MODE: 'stack', ...process.env },
      sections: collectConfigSections([module]),
    });
    const logger = createLogger({ service: module.name, level: config.logLevel });
    installCrashHandlers(logger);
    const registry = createMetricsRegistry({ defaultLabels: { service: module.name } });
    const metrics = createChatmeshMetrics(registry);
    // Checked before anything connects: a retention that breaks its rules stops the start (exit code 2).
    const retention = retentionOf(config);
    const clients = await connectStackClients({
      config,
      clientId: `chatmesh-${module.name}`,
      logger,
      metrics,
      retention,
    });
    const runtime = await startRuntime({ config, logger, registry, metrics, ...clients, modules: [module] });
    installShutdown({ logger, timeoutMs: config.shutdownTimeoutMs, onDrain: runtime.drain, stop: runtime.stop });
    logger.info(
      {
        url: runtime.url,
        health: `${runtime.url}/health`,
        ready: `${runtime.url}/ready`,
        metrics: `${runtime.url}/metrics`,
      },
      'ops server listening',
    );
  });
}
