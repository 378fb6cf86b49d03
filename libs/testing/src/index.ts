/**
 * @chatmesh/testing: real servers for integration tests with one call, and the helpers that keep
 * tests isolated and free of sleeps.
 *
 * `startKafka()`, `startCassandra()`, `startRedis()`, `startSchemaRegistry()` and `startS3()` each pick, in order:
 * endpoints from the environment (KAFKA_BROKERS / CHATMESH_TEST_KAFKA, ...), a testcontainers
 * container when a Docker engine answers, or the native servers of @chatmesh/infra (reused when they
 * run). A server that cannot be had fails the test with a message saying how to get one; it never skips.
 *
 * @example
 * const kafka = await startKafka();
 * after(() => kafka.stop());
 * const topic = randomName('test-topic');
 */
export { startKafka, KAFKA_IMAGE, type KafkaServer } from './providers/kafka-provider.js';
export { startCassandra, CASSANDRA_IMAGE, type CassandraServer } from './providers/cassandra-provider.js';
export { startRedis, REDIS_IMAGE, type RedisServer } from './providers/redis-provider.js';
export { startSchemaRegistry, type SchemaRegistryServer } from './providers/schema-registry-provider.js';
export { startS3, type S3Server } from './providers/s3-provider.js';
export {
  compileProviderOptions,
  HOW_TO_GET,
  type ProvidedServer,
  type ProviderKind,
  type ProviderOptions,
  type CompiledProviderOptions,
} from './providers/provider.js';
export {
  ENDPOINT_ENV,
  kafkaBrokersFromEnv,
  cassandraContactPointsFromEnv,
  cassandraDataCenterFromEnv,
  redisUrlFromEnv,
  schemaRegistryUrlFromEnv,
  s3EndpointFromEnv,
} from './env-endpoints.js';
export { waitFor, type WaitForOptions } from './wait-for.js';
export { randomName, randomKeyspaceName } from './random-name.js';
export { startLoopbackProxy, type LoopbackProxy } from './loopback-proxy.js';
export { TestingError, type TestServer } from './errors.js';
export { startRunKafka } from './private-kafka.js';
export { startStackServers, type StackServers, type StackEndpoints } from './stack-servers.js';
export { startEmbeddedSystemProcess, freeLoopbackPort, type EmbeddedSystemProcess } from './embedded-process.js';
