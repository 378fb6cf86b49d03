/**
 * @chatmesh/metrics: the table of every chatmesh metric name (STYLE rule 16), a prom-client registry
 * factory with Node's default metrics, and the renderer of `docs/metrics.md`.
 */
export { METRICS, type MetricDefinition, type MetricKey, type MetricType } from './metric-table.js';
export {
  createMetricsRegistry,
  createChatmeshMetrics,
  type ChatmeshMetrics,
  type CreateMetricsRegistryOptions,
} from './create-metrics.js';
export { renderMetricsDocs } from './render-metrics-docs.js';
export type { Registry } from 'prom-client';
