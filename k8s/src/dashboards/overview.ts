import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';

import { dashboard, row, stat, timeseries } from './panels.js';

/** Is chatmesh healthy, in one screen: users connected, messages flowing, nothing piling up or failing. */
export function overviewDashboard(): DashboardBuilder {
  return dashboard(
    'chatmesh-overview',
    'chatmesh / Overview',
    'Connections, message flow, delivery latency, lag and failures of the whole mesh.',
  )
    .withRow(row('Now'))
    .withPanel(stat('Connections open', 'short', { expr: 'chatmesh:gateway_connections_open:sum' }))
    .withPanel(stat('Messages sent /s', 'reqps', { expr: 'sum(chatmesh:gateway_frames_in:rate5m{type="send"})' }))
    .withPanel(
      stat(
        'Send → deliver p99 (path)',
        's',
        { expr: 'chatmesh:send_to_deliver_seconds:p99_path' },
        {
          description:
            'Sum of the p99 queueing of ingest, fan-out, the inbox sequencer and the slowest gateway (an upper bound).',
        },
      ),
    )
    .withPanel(stat('Dead letters /s', 'reqps', { expr: 'sum(chatmesh:dead_letters:rate5m)' }))
    .withRow(row('Flow'))
    .withPanel(
      timeseries('Frames in and out /s', 'reqps', [
        { expr: 'sum(chatmesh:gateway_frames_in:rate5m)', legend: 'in' },
        { expr: 'sum(chatmesh:gateway_frames_out:rate5m)', legend: 'out' },
      ]),
    )
    .withPanel(
      timeseries('Send → deliver', 's', [
        { expr: 'chatmesh:send_to_deliver_seconds:p50', legend: 'p50' },
        { expr: 'chatmesh:send_to_deliver_seconds:p99', legend: 'p99' },
      ]),
    )
    .withPanel(
      timeseries('Consumer lag by group', 'short', [
        { expr: 'sum by (group) (chatmesh:consumer_lag_records:sum)', legend: '{{group}}' },
      ]),
    )
    .withPanel(
      timeseries('Failures /s', 'reqps', [
        { expr: 'sum(chatmesh:dead_letters:rate5m)', legend: 'dead letters' },
        { expr: 'sum(chatmesh:records_retried:rate5m)', legend: 'handler retries' },
        { expr: 'sum(chatmesh:gateway_frame_errors:rate5m)', legend: 'refused frames' },
        { expr: 'sum(chatmesh:gateway_auth_failures:rate5m)', legend: 'refused tokens' },
      ]),
    )
    .withRow(row('Services'))
    .withPanel(
      timeseries(
        'Services ready',
        'short',
        [{ expr: 'sum by (service) (chatmesh_service_ready_boolean)', legend: '{{service}}' }],
        {
          description: 'Instances reporting ready, per service (/ready).',
        },
      ),
    )
    .withPanel(
      timeseries('Resident memory', 'bytes', [
        { expr: 'sum by (instance) (process_resident_memory_bytes)', legend: '{{instance}}' },
      ]),
    );
}
