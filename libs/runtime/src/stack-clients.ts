import { createKafkaBus, createNamespacedBus, namespacedInstrumentation, type Bus } from '@chatmesh/bus';
import { ConfigError, type ChatmeshConfig } from '@chatmesh/config';
import type { Logger } from '@chatmesh/logging';
import type { ChatmeshMetrics } from '@chatmesh/metrics';
import { createRegistryCodec, type SchemaCodec } from '@chatmesh/schemas';
import { createRedisPresenceRegistry, type PresenceRegistry } from '@chatmesh/presence-registry';
import { createCassandraStore, type ChatStore, type LogRetention } from '@chatmesh/store';
import { createBusInstrumentation } from './bus-instrumentation.js';

/** The clients of a stack-mode process. */
export interface StackClients {
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  readonly store: ChatStore;
  readonly presence: PresenceRegistry;
}

/**
 * Connects the clients of a stack-mode process: the Kafka bus, the registry codec and the Cassandra
 * store (whose keyspace the migrations created: `npm run migrate -w @chatmesh/store`, which `npm run stack`
 * runs first).
 * @throws ChatmeshError `CM_ERR_STORE_UNAVAILABLE` when Cassandra cannot be reached
 */
export async function connectStackClients(options: {
  config: ChatmeshConfig;
  clientId: string;
  logger: Logger;
  metrics: ChatmeshMetrics;
  /** How long the store's logs keep rows (see {@link retentionOf}). @default DEFAULT_LOG_RETENTION */
  retention?: LogRetention;
}): Promise<StackClients> {
  const { bus, codec } = createStackBusAndCodec(options);
  const { config, retention } = options;
  try {
    const store = await createCassandraStore({
      contactPoints: config.cassandraContactPoints,
      localDataCenter: config.cassandraLocalDc,
      keyspace: config.cassandraKeyspace,
      ...(retention === undefined ? {} : { retention }),
    });
    try {
      const presence = await createRedisPresenceRegistry({ url: config.redisUrl });
      return { bus, codec, store, presence };
    } catch (error) {
      await store.close();
      throw error;
    }
  } catch (error) {
    await bus.close();
    throw error;
  }
}

/**
 * Builds the Kafka bus (kafkajs logs forwarded to pino, events to the metrics, topics and groups under
 * `CHATMESH_NAMESPACE` when set) and the registry codec from a stack-mode configuration.
 * @throws ConfigError `CM_ERR_CONFIG_INVALID` when the configuration is not stack mode (a lone service
 * process has no in-process bus to share; `npm start` runs embedded mode).
 */
export function createStackBusAndCodec(options: {
  config: ChatmeshConfig;
  clientId: string;
  logger: Logger;
  metrics: ChatmeshMetrics;
}): Pick<StackClients, 'bus' | 'codec'> {
  const { config, logger } = options;
  if (config.mode !== 'stack' || config.schemaRegistryUrl === undefined) {
    throw new ConfigError([
      {
        variable: 'CHATMESH_MODE',
        value: config.mode,
        expected: 'stack',
        message: `CHATMESH_MODE="${config.mode}" cannot run a single service process: expected stack (\`npm start\` runs every service in embedded mode)`,
      },
    ]);
  }
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  // CHATMESH_NAMESPACE: every topic and group lives under `<namespace>.` on the shared Kafka, while the services,
  // their metrics and dead-letter envelopes keep the logical names. Registry subjects stay un-namespaced.
  const bus = createNamespacedBus(
    createKafkaBus({
      brokers: config.kafkaBrokers,
      clientId: options.clientId,
      instrumentation: namespacedInstrumentation(createBusInstrumentation(options.metrics, logger), config.namespace),
      logger: (entry) => kafkaLogger[entry.level]({ namespace: entry.namespace, ...entry.extra }, entry.message),
    }),
    config.namespace,
  );
  const codec = createRegistryCodec({ url: config.schemaRegistryUrl, clientId: options.clientId });
  return { bus, codec };
}
