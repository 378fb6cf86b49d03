import type { BusInstrumentation } from '@chatmesh/bus';
import { createSampledLog, type Logger } from '@chatmesh/logging';
import type { ChatmeshMetrics } from '@chatmesh/metrics';

/**
 * Turns the bus's events into the metrics of the table, so the bus never knows prom-client.
 * Pass the result to `createMemoryBus` / `createKafkaBus` as their instrumentation. With a logger, dead letters and
 * offset resets (records skipped) also get a sampled log line (the first few per group and code a minute): a
 * refused record is never only a number on a dashboard.
 */
export function createBusInstrumentation(metrics: ChatmeshMetrics, logger?: Logger): BusInstrumentation {
  const sampled = logger === undefined ? null : createSampledLog(logger);
  return {
    onProduced({ topic, records }) {
      metrics.busRecordsProducedTotal.inc({ topic }, records);
    },
    onHandled({ groupId, topic, durationMs, delayMs, outcome, errorCode }) {
      metrics.busHandlerDurationSeconds.observe({ group: groupId, topic, outcome }, durationMs / 1000);
      if (delayMs !== undefined) metrics.busRecordDelaySeconds.observe({ group: groupId, topic }, delayMs / 1000);
      if (outcome === 'ok') metrics.busRecordsConsumedTotal.inc({ group: groupId, topic });
      else if (outcome === 'retry') metrics.busRecordsRetriedTotal.inc({ group: groupId, topic });
      else {
        const code = errorCode ?? 'CM_ERR_BUS_HANDLER_FAILED';
        metrics.busRecordsFailedTotal.inc({ group: groupId, topic, error_code: code });
        sampled?.log(
          'warn',
          `dead-letter:${groupId}:${code}`,
          { group: groupId, topic, errorCode: code },
          'a record was dead-lettered (see `npm run dlq`)',
        );
      }
    },
    onLag({ groupId, topic, partition, lag }) {
      metrics.busConsumerLagRecords.set({ group: groupId, topic, partition: String(partition) }, lag);
    },
    onRebalance({ groupId }) {
      metrics.busRebalancesTotal.inc({ group: groupId });
    },
    onOffsetReset({ groupId, topic, partition, from, to }) {
      metrics.busOffsetResetsTotal.inc({ group: groupId, topic });
      sampled?.log(
        'warn',
        `offset-reset:${groupId}:${topic}`,
        { group: groupId, topic, partition, from, to, skipped: Math.max(0, to - from) },
        'a consumer fell behind retention; its offset was reset and records were skipped',
      );
    },
  };
}
