/** The kinds of metric chatmesh uses. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One row of {@link METRICS}: everything a dashboard, an alert or `docs/metrics.md` needs. */
export interface MetricDefinition {
  /** `chatmesh_<area>_<thing>_<unit>`; counters end in `_total`. */
  readonly name: string;
  readonly type: MetricType;
  /** One sentence for `# HELP` and the docs. */
  readonly help: string;
  /** Label names; keep them low-cardinality (never a user, chat or device id). */
  readonly labelNames: readonly string[];
  /** Histogram bucket upper bounds, in the metric's unit. */
  readonly buckets?: readonly number[];
}

/** Handler latencies from 1 ms to 10 s: most handlers take a few ms, a slow store call hundreds. */
const HANDLER_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * Every metric chatmesh exports, in one table, as kafkajs keeps its instrumentation
 * events in one file. Code refers to metrics by key (`metrics.busRecordsConsumedTotal`), dashboards and
 * alerts by `name`, and `docs/metrics.md` is rendered from here.
 */
export const METRICS = {
  busRecordsProducedTotal: {
    name: 'chatmesh_bus_records_produced_total',
    type: 'counter',
    help: 'Records appended to a topic by this process.',
    labelNames: ['topic'],
  },
  busRecordsConsumedTotal: {
    name: 'chatmesh_bus_records_consumed_total',
    type: 'counter',
    help: 'Records a consumer group finished with: handled, or parked as undecodable in the dead-letter twin (also counted as failed). Their offsets may be committed.',
    labelNames: ['group', 'topic'],
  },
  busRecordsRetriedTotal: {
    name: 'chatmesh_bus_records_retried_total',
    type: 'counter',
    help: 'Handler attempts that failed and will be retried.',
    labelNames: ['group', 'topic'],
  },
  busRecordsFailedTotal: {
    name: 'chatmesh_bus_records_failed_total',
    type: 'counter',
    help: 'Records sent to the dead-letter twin (undecodable, or the handler kept failing), by error code.',
    labelNames: ['group', 'topic', 'error_code'],
  },
  busHandlerDurationSeconds: {
    name: 'chatmesh_bus_handler_duration_seconds',
    type: 'histogram',
    help: 'Time one handler attempt took, by outcome (ok, retry, dead-lettered).',
    labelNames: ['group', 'topic', 'outcome'],
    buckets: HANDLER_SECONDS_BUCKETS,
  },
  busRecordDelaySeconds: {
    name: 'chatmesh_bus_record_delay_seconds',
    type: 'histogram',
    help: "Time from a record's production (its timestamp) to the start of its handler: the hop's queueing, fetch wait and transaction visibility.",
    labelNames: ['group', 'topic'],
    buckets: HANDLER_SECONDS_BUCKETS,
  },
  busConsumerLagRecords: {
    name: 'chatmesh_bus_consumer_lag_records',
    type: 'gauge',
    help: 'Records in a partition not yet consumed by the group (high watermark minus position); the autoscaling signal.',
    labelNames: ['group', 'topic', 'partition'],
  },
  busOffsetResetsTotal: {
    name: 'chatmesh_bus_offset_resets_total',
    type: 'counter',
    help: 'Consumer positions that fell below what a partition retains and were reset by the offset reset policy (records skipped).',
    labelNames: ['group', 'topic'],
  },
  busRebalancesTotal: {
    name: 'chatmesh_bus_rebalances_total',
    type: 'counter',
    help: 'Partition assignments received by a group member.',
    labelNames: ['group'],
  },
  serviceUpBoolean: {
    name: 'chatmesh_service_up_boolean',
    type: 'gauge',
    help: '1 while the service is started (between start and stop), else 0.',
    labelNames: ['service'],
  },
  serviceReadyBoolean: {
    name: 'chatmesh_service_ready_boolean',
    type: 'gauge',
    help: '1 while the service reports ready (the /ready endpoint answers 200 only if every service does), else 0.',
    labelNames: ['service'],
  },
} as const satisfies Record<string, MetricDefinition>;

/** The key of a metric in {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;

/** A table of metrics by key: {@link METRICS}, or a service's own (`services/<name>/src/metrics.ts`). */
export type MetricTable = Readonly<Record<string, MetricDefinition>>;

/**
 * Declares a service's own metric table with its literal keys and types preserved. Names follow
 * `chatmesh_<service>_<thing>_<unit>` (`chatmesh_fan_out_recipients_total`). Declare it on the service
 * module (`metrics: FAN_OUT_METRICS`) so `docs/metrics.md` lists it, and create it in `start` with
 * `createMetrics(deps.registry, FAN_OUT_METRICS)`.
 */
export function defineMetricTable<const T extends Record<string, MetricDefinition>>(table: T): T {
  return table;
}
