import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { TypedProducer } from '@chatmesh/runtime';
import { gatewayDeliveriesTopic, type GatewayDelivery } from '@chatmesh/schemas';
import type { PRESENCE_METRICS } from './metrics.js';

/** Sends one delivery to a gateway's topic; a failure is logged and counted, never thrown. */
export type Deliver = (delivery: GatewayDelivery) => Promise<boolean>;

/**
 * Notices, typing and session orders are ephemeral courtesies: a gateway that vanished with its topic has
 * no socket to show them on (its devices reconnect elsewhere and subscribe again), so a failed send must
 * not fail, and re-run, the record that caused it.
 */
export function createDeliver(deps: {
  typed: TypedProducer;
  logger: Logger;
  metrics: MetricInstruments<typeof PRESENCE_METRICS>;
}): Deliver {
  return async (delivery) => {
    try {
      await deps.typed.send(gatewayDeliveriesTopic(delivery.gatewayId).name, delivery.userId, delivery);
      return true;
    } catch (error) {
      const payload = Object.keys(delivery.payload)[0]?.split('.').pop() ?? 'unknown';
      deps.metrics.presenceDeliveryFailuresTotal.inc({ payload });
      deps.logger.warn(
        { err: error, gatewayId: delivery.gatewayId, userId: delivery.userId, payload },
        'delivery to a gateway failed',
      );
      return false;
    }
  };
}
