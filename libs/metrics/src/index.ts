/**
 * @chatmesh/metrics: the table of every chatmesh metric name, a prom-client registry
 * factory with Node's default metrics, and the renderer of `docs/metrics.md`.
 */
export {
  METRICS,
  defineMetricTable,
  type MetricDefinition,
  type MetricKey,
  type MetricTable,
  type MetricType,
} from './metric-table.js';
export {
  createMetricsRegistry,
  createMetrics,
  createChatmeshMetrics,
  type ChatmeshMetrics,
  type MetricInstruments,
  type CreateMetricsRegistryOptions,
} from './create-metrics.js';
export { renderMetricsDocs } from './render-metrics-docs.js';
export type { Registry } from 'prom-client';
