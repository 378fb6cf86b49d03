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
import { defineExperienceSuite } from '../experience-suite.js';
import { startRunKafka } from '../private-kafka.js';
import { startStackExperience } from '../stack-experience.js';

let kafka: KafkaServer;
let registry: SchemaRegistryServer;
let cassandra: CassandraServer;
let redis: RedisServer;

before(async () => {
  // Its own broker: the services join fixed consumer groups that other runs would share.
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

defineExperienceSuite({
  name: 'issue 7 experience (stack: Kafka, registry, Cassandra, Redis; every service a process; two gateways)',
  createSystem: () =>
    startStackExperience({
      kafkaBrokers: kafka.brokers,
      schemaRegistryUrl: registry.url,
      cassandraContactPoints: cassandra.contactPoints,
      cassandraLocalDc: cassandra.localDataCenter,
      keyspace: randomKeyspaceName('experience'),
      redisUrl: redis.url,
    }),
});
