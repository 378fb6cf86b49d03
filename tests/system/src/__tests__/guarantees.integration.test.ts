import { after, before } from 'node:test';
import {
  randomKeyspaceName,
  startCassandra,
  startRedis,
  startSchemaRegistry,
  type CassandraServer,
  type KafkaServer,
  type RedisServer,
  type SchemaRegistryServer,
} from '@chatmesh/testing';
import { defineGuaranteeSuite } from '../guarantee-suite.js';
import { startRunKafka } from '../private-kafka.js';
import { startStackHarness } from '../stack-harness.js';

let kafka: KafkaServer;
let registry: SchemaRegistryServer;
let cassandra: CassandraServer;
let redis: RedisServer;

before(async () => {
  // Its own broker: other runs' ingest and fan-out would join the same fixed consumer groups.
  kafka = await startRunKafka();
  registry = await startSchemaRegistry();
  cassandra = await startCassandra();
  redis = await startRedis();
});

after(async () => {
  await redis?.stop();
  await cassandra?.stop();
  await registry?.stop();
  await kafka?.stop();
});

defineGuaranteeSuite({
  name: 'core message path guarantees (stack: Kafka, registry, Cassandra, Redis; ingest and fan-out as processes)',
  createHarness: () =>
    startStackHarness({
      kafkaBrokers: kafka.brokers,
      schemaRegistryUrl: registry.url,
      cassandraContactPoints: cassandra.contactPoints,
      cassandraLocalDc: cassandra.localDataCenter,
      keyspace: randomKeyspaceName('system'),
      redisUrl: redis.url,
    }),
  load: { chats: 20, minMembers: 3, maxMembers: 5, sends: 200, inFlight: 16 },
  // A killed service is back after its restart (a few seconds) plus the group's session timeout (10 s).
  retry: { ackTimeoutMs: 5_000, deadlineMs: 180_000 },
  settleTimeoutMs: 180_000,
});
