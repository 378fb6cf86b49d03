/**
 * Runs the receipts service as its own process (stack mode, one process per service): reads the
 * configuration, builds the Kafka bus and the registry codec, starts the service and its ops server,
 * and stops gracefully on SIGTERM/SIGINT. Wiring only (STYLE rule 1); `npm run stack` spawns it.
 */
import { loadConfig } from '@chatmesh/config';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import {
  collectConfigSections,
  createStackClients,
  installCrashHandlers,
  installShutdown,
  runMain,
  startRuntime,
} from '@chatmesh/runtime';
import { receiptsService } from './service.js';

await runMain(async () => {
  // A lone service process is stack mode unless told otherwise, so missing endpoints are reported clearly.
  const config = loadConfig({
    env: { CHATMESH_MODE: 'stack', ...process.env },
    sections: collectConfigSections([receiptsService]),
  });
  const logger = createLogger({ service: receiptsService.name, level: config.logLevel });
  installCrashHandlers(logger);
  const registry = createMetricsRegistry({ defaultLabels: { service: receiptsService.name } });
  const metrics = createChatmeshMetrics(registry);
  const { bus, codec } = createStackClients({ config, clientId: `chatmesh-${receiptsService.name}`, logger, metrics });
  const runtime = await startRuntime({ config, logger, registry, metrics, bus, codec, modules: [receiptsService] });
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
