/**
 * `npm start`: all six services in one process on the in-process bus and the local Avro codec,
 * one ops server on `CHATMESH_HTTP_PORT` (default 8080). Not durable, and says so. A bad
 * configuration stops the start with the list of problems and exit code 2; Ctrl-C/SIGTERM stops
 * cleanly with exit code 0.
 */
import { createMemoryBus } from '@chatmesh/bus';
import { ConfigError, findUnknownVariables, getConfigSection, loadConfig } from '@chatmesh/config';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import {
  createBusInstrumentation,
  installCrashHandlers,
  installShutdown,
  retentionOf,
  runMain,
  startRuntime,
} from '@chatmesh/runtime';
import { createLocalCodec } from '@chatmesh/schemas';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createMemoryStore } from '@chatmesh/store';
import { renderEmbeddedBanner } from './banner.js';
import { EMBEDDED_CONFIG } from './embedded-config.js';
import { CONFIG_SECTIONS, selectModules } from './service-modules.js';

await runMain(async () => {
  // Stack mode's own requirements (endpoints, the JWKS) would hide the real mistake: wrong command.
  const requestedMode = process.env.CHATMESH_MODE?.trim();
  if (requestedMode === 'stack') throw wrongModeError(requestedMode);
  const config = loadConfig({ sections: CONFIG_SECTIONS });
  if (config.mode !== 'embedded') throw wrongModeError(config.mode);
  // The same retention rules as stack mode, on the memory store's clock.
  const retention = retentionOf(config);
  const logger = createLogger({ service: 'launcher', level: config.logLevel, bindings: { mode: 'embedded' } });
  installCrashHandlers(logger);
  const unknown = findUnknownVariables(process.env, CONFIG_SECTIONS);
  if (unknown.length > 0)
    logger.warn({ unknown }, 'ignoring unknown CHATMESH_ variables (typos?); see docs/configuration.md');

  const registry = createMetricsRegistry();
  const metrics = createChatmeshMetrics(registry);
  const embedded = getConfigSection(config, 'embedded', EMBEDDED_CONFIG);
  const bus = createMemoryBus({
    instrumentation: createBusInstrumentation(metrics, logger),
    retention: { maxBytes: embedded.busRetentionBytes, maxAgeMs: embedded.busRetentionMs },
  });
  const codec = createLocalCodec();
  const modules = selectModules(config.services);
  const runtime = await startRuntime({
    config,
    logger,
    registry,
    metrics,
    bus,
    codec,
    store: createMemoryStore({ retention }),
    presence: createMemoryPresenceRegistry(),
    modules,
    describe: () => ({ durable: false }),
  });
  installShutdown({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    onDrain: runtime.drain,
    stop: async () => {
      await runtime.stop();
      process.stdout.write('chatmesh: every service stopped cleanly; the in-memory data is gone.\n');
    },
  });
  const gatewayDetails = runtime.group.health()['delivery-gateway']?.details;
  const gatewayUrl = gatewayDetails?.['url'];
  process.stdout.write(
    renderEmbeddedBanner({
      url: runtime.url,
      services: modules.map((module) => module.name),
      ...(typeof gatewayUrl === 'string' ? { chatUrl: gatewayUrl } : {}),
      devTokens: gatewayDetails?.['devTokens'] === true,
    }),
  );
});

function wrongModeError(mode: string): ConfigError {
  return new ConfigError([
    {
      variable: 'CHATMESH_MODE',
      value: mode,
      expected: 'embedded',
      message: `CHATMESH_MODE="${mode}" is not valid for \`npm start\`: expected embedded (\`npm run stack\` runs stack mode)`,
    },
  ]);
}
