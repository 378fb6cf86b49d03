import { createLogger, type Logger, type LoggerLevel } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry, type ChatmeshMetrics, type Registry } from '@chatmesh/metrics';

/** The logging and metrics part of {@link SharedDeps}. */
export interface Observability {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: ChatmeshMetrics;
}

/**
 * A silent logger and a fresh metrics registry (without the process's default metrics) holding every
 * chatmesh metric: what tests and benchmarks pass to `startServiceGroup` next to their bus and stores.
 * @param level a log level to see what the services say (`CHATMESH_TEST_LOG_LEVEL` in tests)
 */
export function silentObservability(service = 'test', level: LoggerLevel = 'silent'): Observability {
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  return { logger: createLogger({ service, level }), registry, metrics: createChatmeshMetrics(registry) };
}
