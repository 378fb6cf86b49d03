import { defineMetricTable } from '@chatmesh/metrics';

/** One provider request: milliseconds to a local stand-in, up to seconds to a provider across the internet. */
const SEND_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * The push service's metrics. Label values are provider names, outcomes and failure reasons from the providers'
 * documented answers: never a user, device, chat or token.
 */
export const PUSH_METRICS = defineMetricTable({
  pushSentTotal: {
    name: 'chatmesh_push_sent_total',
    type: 'counter',
    help: 'Wake-ups a provider accepted, by provider (fcm, apns, web_push, inbox).',
    labelNames: ['provider'],
  },
  pushFailedTotal: {
    name: 'chatmesh_push_failed_total',
    type: 'counter',
    help: 'Failed attempts by provider and reason (e.g. too_many_requests, http_503, unregistered, disabled); a retried wake-up counts each failed attempt.',
    labelNames: ['provider', 'reason'],
  },
  pushSendDurationSeconds: {
    name: 'chatmesh_push_send_duration_seconds',
    type: 'histogram',
    help: 'Time of one provider request (one attempt), by provider.',
    labelNames: ['provider'],
    buckets: SEND_SECONDS_BUCKETS,
  },
  pushTokensRemovedTotal: {
    name: 'chatmesh_push_tokens_removed_total',
    type: 'counter',
    help: 'Channels deleted because the provider said the token or subscription is dead, by provider.',
    labelNames: ['provider'],
  },
  pushCoalescedTotal: {
    name: 'chatmesh_push_coalesced_total',
    type: 'counter',
    help: 'Wake-ups not sent, by reason: window (the device was woken for the chat within the coalesce window) or online (the device is connected).',
    labelNames: ['reason'],
  },
  pushChannelChangesTotal: {
    name: 'chatmesh_push_channel_changes_total',
    type: 'counter',
    help: 'Push channel registry writes, by kind (register, unregister, device_removed).',
    labelNames: ['kind'],
  },
});
