import { definePendingService, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS, gatewayDeliveriesTopic } from '@chatmesh/schemas';

/**
 * The delivery-gateway service: webSocket gateway (uWebSockets.js): authenticates clients, turns frames into commands and delivers its own delivery topic.
 *
 * Its logic lands with the gateway issue. Until then it only creates the topics it consumes and produces
 * (with their dead-letter twins) and reports ready; it subscribes to nothing, so no record is
 * committed unprocessed.
 */
export const deliveryGatewayService: ServiceModule = definePendingService({
  name: 'delivery-gateway',
  description:
    'WebSocket gateway (uWebSockets.js): authenticates clients, turns frames into commands and delivers its own delivery topic',
  consumes: ['gateway.<id>.deliveries'],
  produces: ['chat.commands', 'receipts', 'presence.events', 'ephemeral'],
  topics: (config) => [
    gatewayDeliveriesTopic(config.gatewayId),
    TOPICS.chatCommands,
    TOPICS.receipts,
    TOPICS.presenceEvents,
    TOPICS.ephemeral,
  ],
  logicLandsWith: 'the gateway issue',
});
