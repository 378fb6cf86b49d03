import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { TypedTopics } from '@chatmesh/runtime';
import { deliveredReport } from './frame-commands.js';
import type { GATEWAY_METRICS } from './metrics.js';
import type { Session } from './session.js';

/**
 * Produces the DELIVERED reports of a device's acks (inbox and broadcast chats alike): one per chat, with the
 * highest seq the ack covers.
 */
export class DeliveredReporter {
  constructor(
    private readonly deps: {
      readonly typed: TypedTopics;
      readonly logger: Logger;
      readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
    },
  ) {}

  /**
   * Never throws: the device acked, so its position moved; a report that cannot be produced is lost, but the next
   * ack of the chat reports a higher seq, which covers it (DELIVERED is a pointer).
   */
  async report(session: Session, chatId: string, upToSeq: number, atMs: number): Promise<void> {
    const record = deliveredReport(session, chatId, upToSeq, atMs, session.nextLocalRequestId());
    try {
      await this.deps.typed.send(record.topic, record.key, record.value);
      this.deps.metrics.gatewayReceiptReportsTotal.inc({ kind: 'DELIVERED' });
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'could not produce a DELIVERED report');
    }
  }
}
