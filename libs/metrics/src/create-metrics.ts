import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS, type MetricDefinition, type MetricTable } from './metric-table.js';

/** Options of {@link createMetricsRegistry}. */
export interface CreateMetricsRegistryOptions {
  /** Labels added to every series, e.g. `{ service: 'ingest' }` in stack mode. @default {} */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /** Collect Node's process metrics (CPU, memory, event-loop lag, GC) under prom-client's standard names, so stock dashboards work. @default true */
  readonly collectDefaultMetrics?: boolean;
}

/**
 * A fresh prom-client registry (never the global one, so several runtimes and tests in one process
 * do not collide), with Node's default metrics.
 */
export function createMetricsRegistry(options: CreateMetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels({ ...options.defaultLabels });
  if (options.collectDefaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

type Instrument<D> = D extends { type: 'counter' }
  ? Counter<string>
  : D extends { type: 'gauge' }
    ? Gauge<string>
    : D extends { type: 'histogram' }
      ? Histogram<string>
      : never;

/** The instruments of a metric table, keyed as the table. */
export type MetricInstruments<T extends MetricTable> = { readonly [K in keyof T]: Instrument<T[K]> };

/** Every metric of {@link METRICS}, created on one registry, keyed as in the table. */
export type ChatmeshMetrics = MetricInstruments<typeof METRICS>;

/**
 * Creates every metric of `table` on `registry`. Call once per registry and table: prom-client
 * rejects a second registration of the same name.
 */
export function createMetrics<T extends MetricTable>(registry: Registry, table: T): MetricInstruments<T> {
  const out: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(table) as Array<[string, MetricDefinition]>) {
    const common = {
      name: definition.name,
      help: definition.help,
      labelNames: [...definition.labelNames],
      registers: [registry],
    };
    switch (definition.type) {
      case 'counter':
        out[key] = new Counter(common);
        break;
      case 'gauge':
        out[key] = new Gauge(common);
        break;
      case 'histogram':
        out[key] = new Histogram({ ...common, buckets: [...(definition.buckets ?? [])] });
        break;
    }
  }
  return out as MetricInstruments<T>;
}

/** Creates every metric of {@link METRICS} on `registry`: the shared bus and service metrics. */
export function createChatmeshMetrics(registry: Registry): ChatmeshMetrics {
  return createMetrics(registry, METRICS);
}
