import type { BusInstrumentation } from '@chatmesh/bus';
import type { ChatmeshMetrics } from '@chatmesh/metrics';

/**
 * Turns the bus's events into the metrics of the table, so the bus never knows prom-client.
 * Pass the result to `createMemoryBus` / `createKafkaBus` as their instrumentation.
 */
export function createBusInstrumentation(metrics: ChatmeshMetrics): BusInstrumentation {
  return {
    onProduced({ topic, records }) {
      metrics.busRecordsProducedTotal.inc({ topic }, records);
    },
    onHandled({ groupId, topic, durationMs, delayMs, outcome, errorCode }) {
      metrics.busHandlerDurationSeconds.observe({ group: groupId, topic, outcome }, durationMs / 1000);
      if (delayMs !== undefined) metrics.busRecordDelaySeconds.observe({ group: groupId, topic }, delayMs / 1000);
      if (outcome === 'ok') metrics.busRecordsConsumedTotal.inc({ group: groupId, topic });
      else if (outcome === 'retry') metrics.busRecordsRetriedTotal.inc({ group: groupId, topic });
      else
        metrics.busRecordsFailedTotal.inc({
          group: groupId,
          topic,
          error_code: errorCode ?? 'CM_ERR_BUS_HANDLER_FAILED',
        });
    },
    onLag({ groupId, topic, partition, lag }) {
      metrics.busConsumerLagRecords.set({ group: groupId, topic, partition: String(partition) }, lag);
    },
    onRebalance({ groupId }) {
      metrics.busRebalancesTotal.inc({ group: groupId });
    },
  };
}
