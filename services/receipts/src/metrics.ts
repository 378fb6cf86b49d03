import { defineMetricTable } from '@chatmesh/metrics';

/** A report costs a few store reads and one produce: milliseconds embedded, tens of ms on Cassandra. */
const REPORT_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/**
 * The receipts service's metrics. Label values are report kinds, outcomes, statuses
 * and error codes: never a user, device or chat id.
 */
export const RECEIPTS_METRICS = defineMetricTable({
  receiptsReportsTotal: {
    name: 'chatmesh_receipts_reports_total',
    type: 'counter',
    help: 'Receipt reports handled, by kind (DELIVERED, READ) and outcome (applied, unchanged, ignored, rejected).',
    labelNames: ['kind', 'outcome'],
  },
  receiptsRejectionsTotal: {
    name: 'chatmesh_receipts_rejections_total',
    type: 'counter',
    help: 'Reports refused with an error to the reporting device, by CM_ERR_RECEIPTS_* code.',
    labelNames: ['code'],
  },
  receiptsReportDurationSeconds: {
    name: 'chatmesh_receipts_report_duration_seconds',
    type: 'histogram',
    help: 'Time to handle one receipt report (validation, chat-log scan, produces, pointer write).',
    labelNames: [],
    buckets: REPORT_SECONDS_BUCKETS,
  },
  receiptsStatusUpdatesTotal: {
    name: 'chatmesh_receipts_status_updates_total',
    type: 'counter',
    help: "Message status updates produced to senders' inboxes, by status and scope (member: byUserId set; aggregate).",
    labelNames: ['status', 'scope'],
  },
  receiptsReadPointerUpdatesTotal: {
    name: 'chatmesh_receipts_read_pointer_updates_total',
    type: 'counter',
    help: "Read pointer updates produced to the reader's own inbox (their other devices clear the unread state).",
    labelNames: [],
  },
  receiptsScanTruncatedTotal: {
    name: 'chatmesh_receipts_scan_truncated_total',
    type: 'counter',
    help: 'Reports whose jump was longer than CHATMESH_RECEIPTS_SCAN_LIMIT: only the newest part of the chat log was read.',
    labelNames: [],
  },
  receiptsDeadlinesRecordedTotal: {
    name: 'chatmesh_receipts_deadlines_recorded_total',
    type: 'counter',
    help: 'Delivery deadlines recorded from chat.events (one per stored message, replays included).',
    labelNames: [],
  },
  receiptsBucketsSweptTotal: {
    name: 'chatmesh_receipts_buckets_swept_total',
    type: 'counter',
    help: 'Deadline buckets this instance won and swept.',
    labelNames: [],
  },
  receiptsFailedTotal: {
    name: 'chatmesh_receipts_failed_total',
    type: 'counter',
    help: 'Messages that became FAILED for one recipient (each: a status update to the sender and a notice on receipts.failed).',
    labelNames: [],
  },
  receiptsSweepErrorsTotal: {
    name: 'chatmesh_receipts_sweep_errors_total',
    type: 'counter',
    help: 'Sweeps that stopped on an error (the next tick starts again from the shared cursor).',
    labelNames: [],
  },
});
