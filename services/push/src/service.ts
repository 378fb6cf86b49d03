import { definePendingService, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';

/**
 * The push service: sends content-free wake-up pushes to offline devices through FCM, APNs and Web Push adapters.
 *
 * Its logic lands with the push issue. Until then it only creates the topics it consumes and produces
 * (with their dead-letter twins) and reports ready; it subscribes to nothing, so no record is
 * committed unprocessed.
 */
export const pushService: ServiceModule = definePendingService({
  name: 'push',
  description: 'Sends content-free wake-up pushes to offline devices through FCM, APNs and Web Push adapters',
  consumes: ['push.requests'],
  produces: [],
  topics: (_config) => [TOPICS.pushRequests],
  logicLandsWith: 'the push issue',
});
