import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';

import { dashboard, row, stat, timeseries } from './panels.js';

/** The WebSocket gateways: connections, session starts, what they send and close, replays and broadcast. */
export function gatewaysDashboard(): DashboardBuilder {
  return dashboard(
    'chatmesh-gateways',
    'chatmesh / Gateways',
    'Connections per gateway, upgrade → hello, frames, closes, replays and broadcast chats.',
  )
    .withRow(row('Connections'))
    .withPanel(stat('Connections open', 'short', { expr: 'chatmesh:gateway_connections_open:sum' }))
    .withPanel(stat('Upgrade → hello p99', 's', { expr: 'chatmesh:gateway_upgrade_to_hello_seconds:p99' }))
    .withPanel(
      stat(
        'Hellos lost',
        'percentunit',
        { expr: 'chatmesh:gateway_hello_closed_ratio:rate5m' },
        { description: 'Sockets upgraded (101) and closed before their hello.' },
      ),
    )
    .withPanel(stat('Slow clients closed /s', 'reqps', { expr: 'chatmesh:gateway_backpressure_closes:rate5m' }))
    .withPanel(
      timeseries('Connections per gateway', 'short', [
        { expr: 'sum by (instance) (chatmesh_gateway_connections_open)', legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('Open files per gateway (of the limit)', 'percentunit', [
        {
          expr: 'max by (instance) (process_open_fds / process_max_fds and on(instance) chatmesh_gateway_connections_open)',
          legend: '{{instance}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Upgrade → hello', 's', [
        { expr: 'chatmesh:gateway_upgrade_to_hello_seconds:p99', legend: 'p99' },
        {
          expr: 'histogram_quantile(0.5, sum by (le) (rate(chatmesh_gateway_upgrade_to_hello_seconds_bucket{outcome="sent"}[5m])))',
          legend: 'p50',
        },
      ]),
    )
    .withPanel(
      timeseries('Inbox replay to syncDone', 's', [
        { expr: 'chatmesh:gateway_replay_duration_seconds:p99', legend: 'p99' },
        { expr: 'sum(rate(chatmesh_gateway_replayed_entries_total[5m]))', legend: 'entries read /s' },
      ]),
    )
    .withRow(row('Frames'))
    .withPanel(
      timeseries('Client frames in /s', 'reqps', [{ expr: 'chatmesh:gateway_frames_in:rate5m', legend: '{{type}}' }]),
    )
    .withPanel(
      timeseries('Server frames out /s', 'reqps', [{ expr: 'chatmesh:gateway_frames_out:rate5m', legend: '{{type}}' }]),
    )
    .withPanel(
      timeseries('Refused frames and tokens /s', 'reqps', [
        { expr: 'chatmesh:gateway_frame_errors:rate5m', legend: 'frame {{code}}' },
        { expr: 'chatmesh:gateway_auth_failures:rate5m', legend: 'auth {{code}}' },
      ]),
    )
    .withPanel(
      timeseries('Closes by code /s', 'reqps', [
        { expr: 'chatmesh:gateway_closes:rate5m', legend: '{{close_code}}' },
        { expr: 'chatmesh:gateway_backpressure_closes:rate5m', legend: '4008 slow consumer' },
      ]),
    )
    .withRow(row('Deliveries and broadcast chats'))
    .withPanel(
      timeseries('Stored → delivered (live)', 's', [
        { expr: 'chatmesh:gateway_stored_to_delivered_seconds:p50', legend: 'p50' },
        { expr: 'chatmesh:gateway_stored_to_delivered_seconds:p99', legend: 'p99' },
        {
          expr: 'histogram_quantile(0.99, sum by (path, le) (rate(chatmesh_gateway_stored_to_delivered_seconds_bucket[5m])))',
          legend: 'p99 {{path}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Receipt reports produced /s', 'reqps', [
        { expr: 'sum by (kind) (rate(chatmesh_gateway_receipt_reports_total[5m]))', legend: '{{kind}}' },
      ]),
    )
    .withPanel(
      timeseries('Broadcast subscriptions', 'short', [
        { expr: 'sum by (instance) (chatmesh_gateway_broadcast_subscriptions)', legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('Delivery topic queueing p99', 's', [
        { expr: 'chatmesh:record_delay_seconds:p99{topic=~"gateway\\\\..+\\\\.deliveries"}', legend: '{{topic}}' },
      ]),
    );
}
