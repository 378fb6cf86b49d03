import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRunKafka } from '@chatmesh/system-tests';
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
import { startChatmeshSystem, type ChatmeshSystem } from './helpers/chatmesh-system.js';
import { runCutConversation } from './helpers/cut-conversation.js';

let kafka: KafkaServer;
let registry: SchemaRegistryServer;
let cassandra: CassandraServer;
let redis: RedisServer;
let system: ChatmeshSystem;

before(async () => {
  // A broker of this run alone: ingest and fan-out join fixed consumer groups, which other runs on a
  // shared broker would split with us (see @chatmesh/system-tests startRunKafka).
  kafka = await startRunKafka();
  registry = await startSchemaRegistry();
  cassandra = await startCassandra();
  redis = await startRedis();
  system = await startChatmeshSystem({
    stack: {
      kafkaBrokers: kafka.brokers,
      schemaRegistryUrl: registry.url,
      cassandraContactPoints: cassandra.contactPoints,
      cassandraLocalDc: cassandra.localDataCenter,
      keyspace: randomKeyspaceName('sdk'),
      redisUrl: redis.url,
    },
    env: { CHATMESH_GATEWAY_USER_RATE_PER_SECOND: '10000', CHATMESH_GATEWAY_USER_BURST: '10000' },
  });
});

after(async () => {
  await system?.close();
  await redis?.stop();
  await cassandra?.stop();
  await registry?.stop();
  await kafka?.stop();
});

test('SDK on the gateway over Kafka, Cassandra and Redis: connections cut mid-stream: nothing lost, nothing twice, order kept', async (t) => {
  const result = await runCutConversation(system, {
    messagesPerUser: 100,
    inFlight: 8,
    cutEveryAcks: 15,
    progress: (line) => process.stderr.write(`[sdk-gateway] ${line}\n`),
    settleTimeoutMs: 180_000,
  });
  t.diagnostic(
    `connections cut by the proxy: ${result.cuts}, sockets terminated: ${result.terminations}, reconnects: ${result.reconnects}`,
  );
  assert.ok(result.cuts + result.terminations >= 3, `connections were cut (${JSON.stringify(result)})`);
});
