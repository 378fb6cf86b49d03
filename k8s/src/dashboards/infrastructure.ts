import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';

import { dashboard, row, timeseries } from './panels.js';

/**
 * How chatmesh's clients of Kafka, Cassandra and Redis fare, seen from the processes: the services
 * export no per-client metrics yet, so errors show as handler retries and dead-letter codes
 * (CM_ERR_STORE_* for Cassandra, CM_ERR_BUS_* for Kafka), and time as handler time.
 */
export function infrastructureDashboard(): DashboardBuilder {
  return dashboard(
    'chatmesh-infrastructure',
    'chatmesh / Infrastructure clients',
    'Kafka, Cassandra and Redis as chatmesh sees them, and the Node processes.',
  )
    .withRow(row('Kafka'))
    .withPanel(
      timeseries('Produced /s by topic', 'reqps', [{ expr: 'chatmesh:records_produced:rate5m', legend: '{{topic}}' }]),
    )
    .withPanel(
      timeseries('Consumed /s by group', 'reqps', [
        { expr: 'sum by (group) (chatmesh:records_consumed:rate5m)', legend: '{{group}}' },
      ]),
    )
    .withPanel(
      timeseries('Rebalances (group membership changes)', 'short', [
        { expr: 'sum by (group) (increase(chatmesh_bus_rebalances_total[15m]))', legend: '{{group}}' },
      ]),
    )
    .withPanel(
      timeseries('Queueing p50 by hop', 's', [
        { expr: 'chatmesh:record_delay_seconds:p50', legend: '{{group}} ← {{topic}}' },
      ]),
    )
    .withRow(row('Errors of the stores and the bus'))
    .withPanel(
      timeseries('Handler retries /s', 'reqps', [{ expr: 'chatmesh:records_retried:rate5m', legend: '{{group}}' }], {
        description: 'A failing handler attempt: almost always Cassandra, Redis or Kafka unreachable or slow.',
      }),
    )
    .withPanel(
      timeseries('Dead letters by error code /s', 'reqps', [
        { expr: 'sum by (error_code) (chatmesh:dead_letters:rate5m)', legend: '{{error_code}}' },
      ]),
    )
    .withPanel(
      timeseries('Handler time p99 (store round trips)', 's', [
        { expr: 'chatmesh:handler_duration_seconds:p99', legend: '{{group}}' },
      ]),
    )
    .withPanel(
      timeseries('Receipts sweeps stopped by an error', 'short', [
        { expr: 'sum(increase(chatmesh_receipts_sweep_errors_total[15m]))', legend: 'errors' },
      ]),
    )
    .withRow(row('Node processes'))
    .withPanel(
      timeseries('CPU', 'percentunit', [
        { expr: 'sum by (instance) (rate(process_cpu_seconds_total[5m]))', legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('Event loop lag p99', 's', [
        { expr: 'max by (instance) (nodejs_eventloop_lag_p99_seconds)', legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('Heap used', 'bytes', [
        { expr: 'sum by (instance) (nodejs_heap_size_used_bytes)', legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('GC time /s', 'percentunit', [
        { expr: 'sum by (instance) (rate(nodejs_gc_duration_seconds_sum[5m]))', legend: '{{instance}}' },
      ]),
    );
}
