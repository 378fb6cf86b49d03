import { definePendingService, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';

/**
 * The ingest service: single writer of each chat: validates, authorizes, dedupes and sequences chat commands, stores each message once and emits chat events.
 *
 * Its logic lands with the core message path issue. Until then it only creates the topics it consumes and produces
 * (with their dead-letter twins) and reports ready; it subscribes to nothing, so no record is
 * committed unprocessed.
 */
export const ingestService: ServiceModule = definePendingService({
  name: 'ingest',
  description:
    'Single writer of each chat: validates, authorizes, dedupes and sequences chat commands, stores each message once and emits chat events',
  consumes: ['chat.commands'],
  produces: ['chat.events'],
  topics: (_config) => [TOPICS.chatCommands, TOPICS.chatEvents],
  logicLandsWith: 'the core message path issue',
});
