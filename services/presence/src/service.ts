import { definePendingService, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';

/**
 * The presence service: keeps the connection registry and last-seen in Redis and relays typing indicators to gateways.
 *
 * Its logic lands with the receipts and presence issue. Until then it only creates the topics it consumes and produces
 * (with their dead-letter twins) and reports ready; it subscribes to nothing, so no record is
 * committed unprocessed.
 */
export const presenceService: ServiceModule = definePendingService({
  name: 'presence',
  description: 'Keeps the connection registry and last-seen in Redis and relays typing indicators to gateways',
  consumes: ['presence.events', 'ephemeral'],
  produces: ['gateway.<id>.deliveries'],
  topics: (_config) => [TOPICS.presenceEvents, TOPICS.ephemeral],
  logicLandsWith: 'the receipts and presence issue',
});
