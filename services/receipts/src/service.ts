import { getConfigSection } from '@chatmesh/config';
import { createMetrics } from '@chatmesh/metrics';
import { CORE_PATH_RETRY, ServiceStatus, ensureTopics, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';
import { createDeadlineRecorder, createDeadlineSweeper } from './deadlines.js';
import { RECEIPTS_DEADLINES_GROUP_ID, RECEIPTS_GROUP_ID } from './group-ids.js';
import { RECEIPTS_METRICS } from './metrics.js';
import { createReceiptProcessor } from './receipt-processor.js';
import { RECEIPTS_CONFIG } from './receipts-config.js';

/**
 * The receipts service, two consumers and a timer in one process:
 * - reports (`receipts`, keyed by chat: one owner per chat) move per-member delivered / read pointers and
 *   become status updates for the senders and read pointer updates for the reader's devices, all through
 *   `user.inbox` (fan-out's sequencer stores and routes them, so an offline sender sees them later);
 * - deadlines (`chat.events`): each stored message gets a delivery deadline;
 * - the sweeper: every sweep interval, due deadline buckets are claimed and each undelivered (message,
 *   recipient) becomes FAILED (status update to the sender, DeliveryFailed notice on `receipts.failed`).
 */
export const receiptsService: ServiceModule = {
  name: 'receipts',
  description:
    'Keeps per-member delivered and read pointers per chat and tells senders about status changes through their inbox',
  consumes: [TOPICS.receipts.name, TOPICS.chatEvents.name],
  produces: [TOPICS.userInbox.name, 'gateway.<id>.deliveries', TOPICS.deliveryFailures.name],
  config: { receipts: RECEIPTS_CONFIG },
  metrics: RECEIPTS_METRICS,
  async start(deps) {
    const settings = getConfigSection(deps.config, 'receipts', RECEIPTS_CONFIG);
    const metrics = createMetrics(deps.registry, RECEIPTS_METRICS);
    const topics = await ensureTopics(deps.bus, deps.codec, [
      TOPICS.receipts,
      TOPICS.chatEvents,
      TOPICS.userInbox,
      TOPICS.deliveryFailures,
    ]);
    const processor = createReceiptProcessor(deps, {
      scanLimit: settings.scanLimit,
      perMemberMaxGroup: settings.perMemberMaxGroup,
    });
    const deadlineSettings = { failAfterMs: settings.failAfterMs, deadlineBucketMs: settings.deadlineBucketMs };
    const recorder = createDeadlineRecorder(deps, deadlineSettings);
    const sweeper = createDeadlineSweeper(deps, deadlineSettings);
    const counts = {
      applied: 0,
      unchanged: 0,
      ignored: 0,
      rejected: 0,
      statusUpdates: 0,
      readPointerUpdates: 0,
      deadlinesRecorded: 0,
      bucketsSwept: 0,
      failed: 0,
      sweepErrors: 0,
      lastSweepAtMs: null as number | null,
    };
    const status = new ServiceStatus();

    let sweeping: Promise<void> | null = null;
    const sweepNow = (): Promise<void> => {
      sweeping ??= sweeper
        .sweep()
        .then((outcome) => {
          counts.bucketsSwept += outcome.bucketsSwept;
          counts.failed += outcome.failed;
          counts.sweepErrors += outcome.errors;
          counts.lastSweepAtMs = Date.now();
          metrics.receiptsBucketsSweptTotal.inc(outcome.bucketsSwept);
          metrics.receiptsFailedTotal.inc(outcome.failed);
          if (outcome.failed > 0)
            metrics.receiptsStatusUpdatesTotal.inc({ status: 'FAILED', scope: 'member' }, outcome.failed);
          if (outcome.errors > 0) metrics.receiptsSweepErrorsTotal.inc();
        })
        .catch((error: unknown) => {
          counts.sweepErrors++;
          metrics.receiptsSweepErrorsTotal.inc();
          deps.logger.error({ err: error }, 'deadline sweep failed; the next one starts from the shared cursor');
        })
        .finally(() => {
          sweeping = null;
        });
      return sweeping;
    };
    // Before anything is recorded: the first sweep of a shard sets its cursor to the current bucket.
    await sweepNow();

    const reports = await deps.typed.subscribe({
      groupId: RECEIPTS_GROUP_ID,
      topics: [TOPICS.receipts.name],
      retry: CORE_PATH_RETRY,
      partitionsConcurrently: settings.partitionsConcurrently,
      // Keyed by chat: one chat's records stay in order (its pointers have one writer); different chats overlap.
      keyConcurrency: settings.keyConcurrency,
      handler: async (report, _record, context) => {
        const stopTimer = metrics.receiptsReportDurationSeconds.startTimer();
        const outcome = await processor.process(report, context);
        stopTimer();
        counts[outcome.outcome]++;
        metrics.receiptsReportsTotal.inc({ kind: report.kind, outcome: outcome.outcome });
        if (outcome.code) metrics.receiptsRejectionsTotal.inc({ code: outcome.code });
        for (const update of outcome.updates) metrics.receiptsStatusUpdatesTotal.inc(update);
        counts.statusUpdates += outcome.updates.length;
        counts.readPointerUpdates += outcome.readPointerUpdates;
        metrics.receiptsReadPointerUpdatesTotal.inc(outcome.readPointerUpdates);
        if (outcome.scanTruncated) metrics.receiptsScanTruncatedTotal.inc();
      },
    });
    const deadlines = await deps.typed.subscribe({
      groupId: RECEIPTS_DEADLINES_GROUP_ID,
      topics: [TOPICS.chatEvents.name],
      retry: CORE_PATH_RETRY,
      partitionsConcurrently: settings.partitionsConcurrently,
      // Keyed by chat: one chat's records stay in order (its pointers have one writer); different chats overlap.
      keyConcurrency: settings.keyConcurrency,
      handler: async (event) => {
        processor.noteStored(event.chatId, event.seq);
        if (await recorder.record(event)) {
          counts.deadlinesRecorded++;
          metrics.receiptsDeadlinesRecordedTotal.inc();
        }
      },
    });
    const timer = setInterval(() => void sweepNow(), settings.sweepIntervalMs);
    timer.unref();
    status.readyWhen(reports.ready, deadlines.ready);
    return {
      name: 'receipts',
      stop: () =>
        status.stop(async () => {
          clearInterval(timer);
          await Promise.all([reports.stop(), deadlines.stop(), sweeping]);
        }),
      health: () =>
        status.health({
          topics,
          assignment: reports.assignment(),
          failAfterMs: settings.failAfterMs,
          ...counts,
        }),
    };
  },
};
