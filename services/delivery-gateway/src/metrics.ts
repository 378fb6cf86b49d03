import { defineMetricTable } from '@chatmesh/metrics';

/** Replays take from a few ms (nothing missed) to seconds (a device offline for days). */
const REPLAY_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** Upgrade → hello is two in-memory or store reads (registration, cursor): sub-millisecond to seconds. */
const HELLO_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Stored → delivered spans the fan-out hops and the gateway's topic: milliseconds to minutes under lag. */
const STORED_TO_DELIVERED_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/**
 * The delivery gateway's metrics. Label values are frame types, close codes and error
 * codes: never a user, device or chat id.
 */
export const GATEWAY_METRICS = defineMetricTable({
  gatewayConnectionsOpen: {
    name: 'chatmesh_gateway_connections_open',
    type: 'gauge',
    help: 'WebSocket connections open on this gateway (authenticated devices).',
    labelNames: [],
  },
  gatewayFramesInTotal: {
    name: 'chatmesh_gateway_frames_in_total',
    type: 'counter',
    help: 'Client frames received, by frame type (`invalid` for frames that did not parse).',
    labelNames: ['type'],
  },
  gatewayFramesOutTotal: {
    name: 'chatmesh_gateway_frames_out_total',
    type: 'counter',
    help: 'Server frames sent, by frame type.',
    labelNames: ['type'],
  },
  gatewayInboxExpiredEntriesTotal: {
    name: 'chatmesh_gateway_inbox_expired_entries_total',
    type: 'counter',
    help: 'Inbox entries that expired (retention) before a device read them, reported to it in syncGap frames.',
    labelNames: [],
  },
  gatewayFrameErrorsTotal: {
    name: 'chatmesh_gateway_frame_errors_total',
    type: 'counter',
    help: 'Client frames refused with an error frame, by error code (malformed, unknown type, invalid, rate limited...).',
    labelNames: ['code'],
  },
  gatewayAuthFailuresTotal: {
    name: 'chatmesh_gateway_auth_failures_total',
    type: 'counter',
    help: 'Refused upgrades and API calls, by CM_ERR_AUTH_* code.',
    labelNames: ['code'],
  },
  gatewayClosesTotal: {
    name: 'chatmesh_gateway_closes_total',
    type: 'counter',
    help: 'Connections the gateway closed, by close code (4008 slow consumer, 4009 policy, 4010 replaced, 1012 drain...).',
    labelNames: ['close_code'],
  },
  gatewayBackpressureClosesTotal: {
    name: 'chatmesh_gateway_backpressure_closes_total',
    type: 'counter',
    help: 'Slow clients closed with 4008 because their send buffer passed CHATMESH_GATEWAY_MAX_BACKPRESSURE_BYTES.',
    labelNames: [],
  },
  gatewayReplayDurationSeconds: {
    name: 'chatmesh_gateway_replay_duration_seconds',
    type: 'histogram',
    help: 'Time from the start of an inbox replay (connect or sync) to its syncDone.',
    labelNames: [],
    buckets: REPLAY_SECONDS_BUCKETS,
  },
  gatewayUpgradeToHelloSeconds: {
    name: 'chatmesh_gateway_upgrade_to_hello_seconds',
    type: 'histogram',
    help: 'Time from the WebSocket upgrade (101 written) to the hello frame, by outcome: sent, or closed (the socket closed first: the device saw 101 and never got a session).',
    labelNames: ['outcome'],
    buckets: HELLO_SECONDS_BUCKETS,
  },
  gatewayReplayedEntriesTotal: {
    name: 'chatmesh_gateway_replayed_entries_total',
    type: 'counter',
    help: 'Inbox entries read from the store to replay or to fill a gap in live delivery.',
    labelNames: ['reason'],
  },
  gatewayReceiptReportsTotal: {
    name: 'chatmesh_gateway_receipt_reports_total',
    type: 'counter',
    help: 'Receipt reports produced to `receipts`, by kind: READ from `read` frames, DELIVERED from acks (one per chat per ack).',
    labelNames: ['kind'],
  },
  gatewayAccountChangesTotal: {
    name: 'chatmesh_gateway_account_changes_total',
    type: 'counter',
    help: 'Account changes accepted by the HTTP API (202), by kind: device removals and privacy changes (produced to presence.events), push channel registrations and removals (produced to push.registrations).',
    labelNames: ['kind'],
  },
  gatewayBroadcastEventsTotal: {
    name: 'chatmesh_gateway_broadcast_events_total',
    type: 'counter',
    help: 'Events of broadcast chats read from `chat.broadcast`, by outcome: published (to the devices here), duplicate (at or below what was published), gap_filled (missed on the topic, read from the chat log).',
    labelNames: ['outcome'],
  },
  gatewayBroadcastJoinsTotal: {
    name: 'chatmesh_gateway_broadcast_joins_total',
    type: 'counter',
    help: "Devices joined to a broadcast chat after reading its backlog from the chat log, by outcome: subscribed, or waited_out (the gateway's chat.broadcast consumer lagged past CHATMESH_GATEWAY_BROADCAST_JOIN_WAIT_MS).",
    labelNames: ['outcome'],
  },
  gatewayBroadcastSubscriptions: {
    name: 'chatmesh_gateway_broadcast_subscriptions',
    type: 'gauge',
    help: 'Device subscriptions to broadcast chats held on this gateway (one per device per big group).',
    labelNames: [],
  },
  gatewayDeliveriesDroppedTotal: {
    name: 'chatmesh_gateway_deliveries_dropped_total',
    type: 'counter',
    help: 'Deliveries not sent: the device is not connected here (it replays on reconnect) or the entry was already sent.',
    labelNames: ['reason'],
  },
  gatewayStoredToDeliveredSeconds: {
    name: 'chatmesh_gateway_stored_to_delivered_seconds',
    type: 'histogram',
    help: "Time from a message's server time (ingest stored it) to its live delivery by this gateway, by path: inbox (written to the device's socket) or broadcast (published to a big group's devices here). Replays are not counted; clock skew between ingest and gateway hosts adds to it.",
    labelNames: ['path'],
    buckets: STORED_TO_DELIVERED_SECONDS_BUCKETS,
  },
});
