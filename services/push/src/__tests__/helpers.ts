import { createMetrics, type MetricInstruments } from '@chatmesh/metrics';
import { silentObservability } from '@chatmesh/runtime';
import { PUSH_METRICS } from '../metrics.js';
import type { WakeUp } from '../providers/types.js';

/** Push metrics on a registry of their own, and a silent logger. */
export function testObservability(): {
  metrics: MetricInstruments<typeof PUSH_METRICS>;
  registry: ReturnType<typeof silentObservability>['registry'];
  logger: ReturnType<typeof silentObservability>['logger'];
} {
  const obs = silentObservability('push-test');
  return { metrics: createMetrics(obs.registry, PUSH_METRICS), registry: obs.registry, logger: obs.logger };
}

/** The value of a counter or gauge for the given labels (0 when never set). */
export async function metricValue(
  registry: ReturnType<typeof silentObservability>['registry'],
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  // Counters only: one value per label set.
  const match = data.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

export function wakeUp(overrides: Partial<WakeUp> = {}): WakeUp {
  return {
    userId: 'u-bob',
    deviceId: 'd-1',
    chatId: 'c-1',
    badge: 3,
    collapseKey: 'chat:c-1',
    requestId: 'u-bob/7',
    ...overrides,
  };
}
