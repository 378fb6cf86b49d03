import { defineMetricTable } from '@chatmesh/metrics';

/** A sweep checks up to thousands of users in a few registry round trips. */
const SWEEP_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * The presence service's metrics. Label values are event kinds, reasons, outcomes and
 * error codes: never a user, device or chat id.
 */
export const PRESENCE_METRICS = defineMetricTable({
  presenceEventsTotal: {
    name: 'chatmesh_presence_events_total',
    type: 'counter',
    help: 'presence.events records handled, by kind (online, offline, heartbeat, subscribe, privacy, device_removal).',
    labelNames: ['kind'],
  },
  presenceNoticesTotal: {
    name: 'chatmesh_presence_notices_total',
    type: 'counter',
    help: 'PresenceNotice deliveries sent to watcher devices, by reason (subscribe, online, offline, sweep, privacy).',
    labelNames: ['reason'],
  },
  presenceNoticesCoalescedTotal: {
    name: 'chatmesh_presence_notices_coalesced_total',
    type: 'counter',
    help: 'Online/offline notices held back by the per-watcher bound (CHATMESH_PRESENCE_NOTICES_PER_WATCHER_PER_SECOND): each is sent later, or replaced by a newer state of the same subject.',
    labelNames: [],
  },
  presenceOfflineDeferredTotal: {
    name: 'chatmesh_presence_offline_deferred_total',
    type: 'counter',
    help: 'Last devices gone whose offline notice waits for the grace period (CHATMESH_PRESENCE_OFFLINE_GRACE_MS); a reconnect within it sends nothing.',
    labelNames: [],
  },
  presenceTransitionsTotal: {
    name: 'chatmesh_presence_transitions_total',
    type: 'counter',
    help: 'Users announced online or offline (first device online, last device offline, lease lapse found by the sweeper), by state.',
    labelNames: ['state'],
  },
  presenceSubscriptionTargetsIgnoredTotal: {
    name: 'chatmesh_presence_subscription_targets_ignored_total',
    type: 'counter',
    help: 'Subscription targets not honoured, by reason (no_shared_chat, self, over_limit, connection_gone).',
    labelNames: ['reason'],
  },
  presenceSweepDurationSeconds: {
    name: 'chatmesh_presence_sweep_duration_seconds',
    type: 'histogram',
    help: 'Time one sweep of the users announced online took.',
    labelNames: [],
    buckets: SWEEP_SECONDS_BUCKETS,
  },
  presenceSweepCheckedTotal: {
    name: 'chatmesh_presence_sweep_checked_total',
    type: 'counter',
    help: 'Users announced online that a sweep of this instance claimed and re-checked in the registry.',
    labelNames: [],
  },
  presenceSessionDisconnectsTotal: {
    name: 'chatmesh_presence_session_disconnects_total',
    type: 'counter',
    help: 'SessionControl DISCONNECT orders sent to gateways, by reason code (CM_ERR_DEVICE_REMOVED, CM_ERR_DEVICE_LIMIT).',
    labelNames: ['code'],
  },
  presenceTypingTotal: {
    name: 'chatmesh_presence_typing_total',
    type: 'counter',
    help: 'Typing indicators handled, by outcome (relayed, stale, not_a_member, rate_limited).',
    labelNames: ['outcome'],
  },
  presenceTypingDeliveriesTotal: {
    name: 'chatmesh_presence_typing_deliveries_total',
    type: 'counter',
    help: 'TypingNotice deliveries sent (one per recipient user and gateway).',
    labelNames: [],
  },
  presenceDeliveryFailuresTotal: {
    name: 'chatmesh_presence_delivery_failures_total',
    type: 'counter',
    help: "Deliveries to a gateway's topic that failed (a vanished gateway); the record is not retried for them.",
    labelNames: ['payload'],
  },
});
