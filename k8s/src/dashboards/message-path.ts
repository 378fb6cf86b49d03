import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';

import { dashboard, row, timeseries } from './panels.js';

/** The message path hop by hop: chat.commands → ingest → chat.events → fan-out → user.inbox → gateways. */
export function messagePathDashboard(): DashboardBuilder {
  return dashboard(
    'chatmesh-message-path',
    'chatmesh / Message path',
    'Per consumer group: throughput, queueing, handler time, lag, retries and dead letters; receipts and presence.',
  )
    .withRow(row('Latency'))
    .withPanel(
      timeseries('Send → deliver', 's', [
        { expr: 'chatmesh:send_to_deliver_seconds:p50', legend: 'p50' },
        { expr: 'chatmesh:send_to_deliver_seconds:p99', legend: 'p99' },
        { expr: 'chatmesh:send_to_deliver_seconds:p99_path', legend: 'p99, sum of the hops (upper bound)' },
      ]),
    )
    .withPanel(
      timeseries('Queueing before each handler, p99', 's', [
        { expr: 'chatmesh:record_delay_seconds:p99', legend: '{{group}} ← {{topic}}' },
      ]),
    )
    .withPanel(
      timeseries('Handler time p99', 's', [
        { expr: 'chatmesh:handler_duration_seconds:p99', legend: '{{group}} ← {{topic}}' },
      ]),
    )
    .withPanel(
      timeseries('Records consumed /s', 'reqps', [
        { expr: 'chatmesh:records_consumed:rate5m', legend: '{{group}} ← {{topic}}' },
      ]),
    )
    .withRow(row('Ingest and fan-out'))
    .withPanel(
      timeseries(
        'Commands /s',
        'reqps',
        [
          { expr: 'chatmesh:ingest_commands:rate5m', legend: '{{type}} {{outcome}}' },
          { expr: 'chatmesh:ingest_refusals:rate5m', legend: 'refused {{code}}' },
        ],
        {
          description: 'duplicate: a retried send answered with its original result; refused: the device got an error.',
        },
      ),
    )
    .withPanel(
      timeseries(
        'Command received → stored',
        's',
        [
          { expr: 'chatmesh:ingest_command_to_stored_seconds:p50', legend: 'p50 {{type}}' },
          { expr: 'chatmesh:ingest_command_to_stored_seconds:p99', legend: 'p99 {{type}}' },
        ],
        { description: "From the gateway's receipt of the frame to ingest having stored it (clocks of two hosts)." },
      ),
    )
    .withPanel(
      timeseries('Batch sizes', 'short', [
        { expr: 'chatmesh:ingest_batch_size_commands:mean', legend: 'ingest: commands per batch' },
        { expr: 'chatmesh:fan_out_recipients_per_event:mean', legend: 'fan-out: recipients per event ({{path}})' },
      ]),
    )
    .withPanel(
      timeseries('Fan-out /s', 'reqps', [
        { expr: 'chatmesh:fan_out_events_expanded:rate5m', legend: 'events {{path}}' },
        { expr: 'chatmesh:fan_out_inbox_entries:rate5m', legend: 'inbox entries {{result}}' },
        { expr: 'chatmesh:fan_out_deliveries_routed:rate5m', legend: 'deliveries routed' },
        { expr: 'chatmesh:fan_out_pushes_requested:rate5m', legend: 'pushes {{source}}' },
      ]),
    )
    .withRow(row('Backlog and failures'))
    .withPanel(
      timeseries('Lag (records behind)', 'short', [
        { expr: 'chatmesh:consumer_lag_records:sum', legend: '{{group}} ← {{topic}}' },
      ]),
    )
    .withPanel(
      timeseries(
        'Lag of the most behind partition',
        'short',
        [{ expr: 'chatmesh:consumer_lag_records:max_partition', legend: '{{group}} ← {{topic}}' }],
        {
          description: 'One hot partition (a very busy chat) shows here before it moves the sum.',
        },
      ),
    )
    .withPanel(
      timeseries('Handler attempts failing', 'percentunit', [
        { expr: 'chatmesh:handler_failure_ratio:rate5m', legend: '{{group}}' },
      ]),
    )
    .withPanel(
      timeseries(
        'Dead letters /s',
        'reqps',
        [{ expr: 'chatmesh:dead_letters:rate5m', legend: '{{group}} {{topic}} {{error_code}}' }],
        {
          description: 'Inspect and replay with `npm run dlq` (docs/operations.md).',
        },
      ),
    )
    .withPanel(
      timeseries('Rebalances /s', 'reqps', [
        { expr: 'sum by (group) (rate(chatmesh_bus_rebalances_total[5m]))', legend: '{{group}}' },
      ]),
    )
    .withPanel(
      timeseries('Records produced /s', 'reqps', [{ expr: 'chatmesh:records_produced:rate5m', legend: '{{topic}}' }]),
    )
    .withRow(row('Receipts and presence'))
    .withPanel(
      timeseries('Receipt reports /s', 'reqps', [
        { expr: 'sum by (kind, outcome) (rate(chatmesh_receipts_reports_total[5m]))', legend: '{{kind}} {{outcome}}' },
      ]),
    )
    .withPanel(
      timeseries('Messages FAILED /s', 'reqps', [
        { expr: 'chatmesh:receipts_failed:rate5m', legend: 'undelivered at deadline' },
      ]),
    )
    .withPanel(
      timeseries('Presence', 'reqps', [
        { expr: 'sum by (kind) (rate(chatmesh_presence_events_total[5m]))', legend: 'event {{kind}}' },
        { expr: 'sum by (outcome) (rate(chatmesh_presence_typing_total[5m]))', legend: 'typing {{outcome}}' },
      ]),
    )
    .withPanel(
      timeseries('Presence sweeps', 's', [
        { expr: 'chatmesh:presence_sweep_duration_seconds:p99', legend: 'sweep p99' },
        { expr: 'chatmesh:presence_sweeps:rate5m', legend: 'sweeps /s' },
      ]),
    );
}
