import { definePendingService, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';

/**
 * The receipts service: keeps per-member delivered and read pointers per chat and tells senders about status changes through their inbox.
 *
 * Its logic lands with the receipts and presence issue. Until then it only creates the topics it consumes and produces
 * (with their dead-letter twins) and reports ready; it subscribes to nothing, so no record is
 * committed unprocessed.
 */
export const receiptsService: ServiceModule = definePendingService({
  name: 'receipts',
  description:
    'Keeps per-member delivered and read pointers per chat and tells senders about status changes through their inbox',
  consumes: ['receipts'],
  produces: ['user.inbox'],
  topics: (_config) => [TOPICS.receipts, TOPICS.userInbox],
  logicLandsWith: 'the receipts and presence issue',
});
