import type { TopicDefinition } from '@chatmesh/schemas';
import { ensureTopics } from './ensure-topics.js';
import type { ServiceDeps, ServiceModule } from './service-module.js';
import { ServiceStatus } from './service-status.js';

/** Options of {@link definePendingService}. */
export interface PendingServiceOptions {
  readonly name: string;
  readonly description: string;
  readonly consumes: readonly string[];
  readonly produces: readonly string[];
  /** The rows of the topic table it consumes or produces (fixed ones; per-gateway topics belong to their gateway). */
  readonly topics: (config: ServiceDeps['config']) => readonly TopicDefinition[];
  /** Which piece of work brings its logic, for the log line and `/ready` details. */
  readonly logicLandsWith: string;
}

/**
 * A service whose business logic has not landed yet, made honest: on start it creates the topics it
 * will consume and produce (with their dead-letter twins) and registers their schemas, then reports
 * ready. It deliberately subscribes to nothing: a do-nothing handler would commit offsets and lose the
 * records that the real logic must later process.
 */
export function definePendingService(options: PendingServiceOptions): ServiceModule {
  return {
    name: options.name,
    description: options.description,
    consumes: options.consumes,
    produces: options.produces,
    async start(deps) {
      const topics = await ensureTopics(deps.bus, deps.codec, options.topics(deps.config));
      deps.logger.warn(
        { topics, logicLandsWith: options.logicLandsWith },
        `${options.name}: topics ready; its logic is not implemented yet, so it consumes nothing (records wait in their topics)`,
      );
      const status = new ServiceStatus();
      status.markReady();
      return {
        name: options.name,
        stop: () => status.stop(async () => undefined),
        health: () =>
          status.state === 'stopped'
            ? status.health()
            : status.health({ logic: 'pending', logicLandsWith: options.logicLandsWith, topics }),
      };
    },
  };
}
