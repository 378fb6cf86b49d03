import { definePendingService, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';

/**
 * The fan-out service: expands chat events into one inbox entry per recipient user, sequences each user inbox and routes entries to gateways or push.
 *
 * Its logic lands with the core message path issue. Until then it only creates the topics it consumes and produces
 * (with their dead-letter twins) and reports ready; it subscribes to nothing, so no record is
 * committed unprocessed.
 */
export const fanOutService: ServiceModule = definePendingService({
  name: 'fan-out',
  description:
    'Expands chat events into one inbox entry per recipient user, sequences each user inbox and routes entries to gateways or push',
  consumes: ['chat.events', 'user.inbox'],
  produces: ['user.inbox', 'gateway.<id>.deliveries', 'push.requests'],
  topics: (_config) => [TOPICS.chatEvents, TOPICS.userInbox, TOPICS.pushRequests],
  logicLandsWith: 'the core message path issue',
});
