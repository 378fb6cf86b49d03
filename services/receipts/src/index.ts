/**
 * @chatmesh/receipts: keeps per-member delivered and read pointers per chat and tells senders about status
 * changes through their inbox; messages undelivered past a limit become FAILED. Exports its
 * {@link ServiceModule}, which the embedded launcher runs in-process and `src/main.ts` runs as its own
 * process, and the parts it is made of (for tests and the benchmark).
 */
export { receiptsService } from './service.js';
export { RECEIPTS_CONFIG } from './receipts-config.js';
export { RECEIPTS_METRICS } from './metrics.js';
export { RECEIPTS_GROUP_ID, RECEIPTS_DEADLINES_GROUP_ID } from './group-ids.js';
export {
  createReceiptProcessor,
  type ReceiptProcessor,
  type ReceiptProcessorSettings,
  type ReportOutcome,
} from './receipt-processor.js';
export {
  createDeadlineRecorder,
  createDeadlineSweeper,
  deadlineShardOf,
  DEADLINE_SHARDS,
  FAILED_NOTICES_TOPIC,
  type DeadlineSettings,
  type DeadlineSweeper,
  type SweepOutcome,
} from './deadlines.js';
export { statusDedupeKey, readPointerDedupeKey } from './inbox-entries.js';
