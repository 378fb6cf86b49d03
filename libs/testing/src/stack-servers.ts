import type { CassandraServer } from './providers/cassandra-provider.js';
import { startCassandra } from './providers/cassandra-provider.js';
import type { KafkaServer } from './providers/kafka-provider.js';
import { startRedis, type RedisServer } from './providers/redis-provider.js';
import { startSchemaRegistry, type SchemaRegistryServer } from './providers/schema-registry-provider.js';
import { startKafka } from './providers/kafka-provider.js';
import { randomName } from './random-name.js';

/** Where a stack-mode test finds the real servers (the shape every stack harness takes). */
export interface StackEndpoints {
  readonly kafkaBrokers: readonly string[];
  readonly schemaRegistryUrl: string;
  readonly cassandraContactPoints: readonly string[];
  readonly cassandraLocalDc: string;
  /** A fresh keyspace; the harness applies the migrations to it. */
  readonly keyspace: string;
  /**
   * A fresh Kafka namespace (`CHATMESH_NAMESPACE`): every topic and consumer group of this stack is prefixed with
   * it, so stacks, benchmarks and other tests share one broker without joining each other's fixed groups. The
   * harness passes it to the processes it spawns and wraps its own bus with `createNamespacedBus`.
   */
  readonly namespace: string;
  readonly redisUrl: string;
}

/** The four servers of a stack test, started by {@link startStackServers}. */
export interface StackServers {
  readonly kafka: KafkaServer;
  readonly registry: SchemaRegistryServer;
  readonly cassandra: CassandraServer;
  readonly redis: RedisServer;
  /** The endpoints, with a keyspace to create. */
  endpoints(keyspace: string): StackEndpoints;
  /** Stops what was started here, last started first. */
  stop(): Promise<void>;
}

/**
 * Kafka (shared: each stack gets a namespace of its own, see {@link StackEndpoints.namespace}), the schema
 * registry, Cassandra and Redis, one after the other (a provider that starts native servers must not race another
 * doing the same). What started before a failure is stopped again.
 */
export async function startStackServers(): Promise<StackServers> {
  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async (): Promise<void> => {
    for (const server of started.reverse()) await server.stop();
    started.length = 0;
  };
  try {
    const kafka = await startKafka();
    started.push(kafka);
    const registry = await startSchemaRegistry();
    started.push(registry);
    const cassandra = await startCassandra();
    started.push(cassandra);
    const redis = await startRedis();
    started.push(redis);
    return {
      kafka,
      registry,
      cassandra,
      redis,
      endpoints: (keyspace) => ({
        kafkaBrokers: kafka.brokers,
        schemaRegistryUrl: registry.url,
        cassandraContactPoints: cassandra.contactPoints,
        cassandraLocalDc: cassandra.localDataCenter,
        keyspace,
        namespace: randomName('stack'),
        redisUrl: redis.url,
      }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
