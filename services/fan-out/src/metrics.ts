import { defineMetricTable, type MetricInstruments } from '@chatmesh/metrics';
import type { Expansion } from './event-expander.js';
import type { SequencedOutcome } from './inbox-sequencer.js';

/** Recipients of one event: 2 for a 1:1 chat, up to the group limit (1,024) below the broadcast threshold. */
const RECIPIENT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;

/** Fan-out's own metrics. Label values are paths and results: never a chat, user or device id. */
export const FAN_OUT_METRICS = defineMetricTable({
  fanOutEventsExpandedTotal: {
    name: 'chatmesh_fan_out_events_expanded_total',
    type: 'counter',
    help: 'chat.events records expanded, by path: inbox (one user.inbox record per recipient) or broadcast (one chat.broadcast record for a broadcast chat).',
    labelNames: ['path'],
  },
  fanOutRecipientsPerEvent: {
    name: 'chatmesh_fan_out_recipients_per_event',
    type: 'histogram',
    help: 'user.inbox records one chat event became, by path (on the broadcast path only the users a membership change concerns).',
    labelNames: ['path'],
    buckets: RECIPIENT_BUCKETS,
  },
  fanOutInboxEntriesTotal: {
    name: 'chatmesh_fan_out_inbox_entries_total',
    type: 'counter',
    help: "Inbox entries the sequencer handled, by result: created (appended with the user's next inbox sequence number) or replay (already in the inbox, routed again).",
    labelNames: ['result'],
  },
  fanOutDeliveriesRoutedTotal: {
    name: 'chatmesh_fan_out_deliveries_routed_total',
    type: 'counter',
    help: "Inbox entries routed to an online device's gateway delivery topic (one per device).",
    labelNames: [],
  },
  fanOutPushesRequestedTotal: {
    name: 'chatmesh_fan_out_pushes_requested_total',
    type: 'counter',
    help: 'Records produced to push.requests, by source: inbox (a user with no device online) or broadcast (coalesced wake-ups of a broadcast chat).',
    labelNames: ['source'],
  },
});

export type FanOutMetrics = MetricInstruments<typeof FAN_OUT_METRICS>;

/** Counts one expanded chat event (its broadcast pushes: {@link countBroadcastPushes}). */
export function recordExpansion(metrics: FanOutMetrics, expansion: Expansion): void {
  const path = expansion.broadcast ? 'broadcast' : 'inbox';
  metrics.fanOutEventsExpandedTotal.inc({ path });
  metrics.fanOutRecipientsPerEvent.observe({ path }, expansion.recipients.length);
}

/**
 * Counts broadcast wake-up pushes from the pusher's own total, read at every scrape: the pusher also sends
 * them from its window timer, outside any handler, so counting per expansion would miss those.
 */
export function countBroadcastPushes(metrics: FanOutMetrics, total: () => number): void {
  let counted = 0;
  // prom-client calls a metric's `collect` before each read (its `collect` option, set after creation here).
  (metrics.fanOutPushesRequestedTotal as unknown as { collect: () => void }).collect = () => {
    const now = total();
    if (now > counted) metrics.fanOutPushesRequestedTotal.inc({ source: 'broadcast' }, now - counted);
    counted = now;
  };
}

/** Counts one sequenced inbox entry. */
export function recordSequenced(metrics: FanOutMetrics, outcome: SequencedOutcome): void {
  metrics.fanOutInboxEntriesTotal.inc({ result: outcome.created ? 'created' : 'replay' });
  if (outcome.deliveredTo.length > 0) metrics.fanOutDeliveriesRoutedTotal.inc(outcome.deliveredTo.length);
  if (outcome.pushed) metrics.fanOutPushesRequestedTotal.inc({ source: 'inbox' });
}
