/**
 * The providers against real servers: under `npm test` they come from the environment the wrapper
 * exports; run alone, from the native servers (reused when `npm run infra -- up` runs them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import cassandra from 'cassandra-driver';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';

import {
  randomKeyspaceName,
  randomName,
  startCassandra,
  startKafka,
  startRedis,
  startSchemaRegistry,
  TestingError,
  waitFor,
  type CassandraServer,
  type KafkaServer,
  type RedisServer,
  type SchemaRegistryServer,
} from '../index.js';

describe('startKafka', { timeout: 300_000 }, () => {
  let server: KafkaServer;
  before(async () => {
    server = await startKafka();
  });
  after(() => server?.stop());

  test('gives brokers where a topic round-trips a record', async () => {
    assert.ok(['env', 'native', 'testcontainers'].includes(server.provider));
    const kafka = new Kafka({
      clientId: randomName('providers-test'),
      brokers: server.brokers,
      logLevel: logLevel.NOTHING,
    });
    const topic = randomName('test-providers');
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: randomName('test-group'), maxWaitTimeInMs: 100 });
    try {
      await admin.connect();
      assert.equal(
        await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true }),
        true,
      );
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello' }] });
      const received: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push(String(message.value)) });
      await waitFor(() => received.length === 1, { timeoutMs: 30_000, description: `one record on ${topic}` });
      assert.deepEqual(received, ['hello']);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});

describe('startCassandra', { timeout: 300_000 }, () => {
  let server: CassandraServer;
  before(async () => {
    server = await startCassandra();
  });
  after(() => server?.stop());

  test('gives contact points where a keyspace of its own can be written and read', async () => {
    assert.match(server.version ?? '', /^\d+\.\d+/);
    const client = new cassandra.Client({
      contactPoints: server.contactPoints,
      localDataCenter: server.localDataCenter,
    });
    const keyspace = randomKeyspaceName('test_providers');
    try {
      await client.connect();
      await client.execute(
        `CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
      );
      await client.execute(`CREATE TABLE ${keyspace}.kv (k text PRIMARY KEY, v text)`);
      await client.execute(`INSERT INTO ${keyspace}.kv (k, v) VALUES (?, ?)`, ['a', 'b'], { prepare: true });
      const row = (await client.execute(`SELECT v FROM ${keyspace}.kv WHERE k = ?`, ['a'], { prepare: true })).first();
      assert.equal(row.get('v'), 'b');
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
      await client.shutdown();
    }
  });
});

describe('startRedis', { timeout: 120_000 }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server?.stop());

  test('gives a URL where a key round-trips', async () => {
    assert.match(server.version ?? '', /^\d+\.\d+\.\d+$/);
    const redis = new Redis(server.url);
    const key = randomName('test:providers');
    try {
      await redis.set(key, 'v', 'PX', 60_000);
      assert.equal(await redis.get(key), 'v');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('a dead endpoint in the environment fails with CM_ERR_TESTING_NO_SERVER naming it', async () => {
    await assert.rejects(
      startRedis({ env: { REDIS_URL: 'redis://127.0.0.1:1' }, readyTimeoutMs: 500, log: () => {} }),
      (error: unknown) => {
        assert.ok(error instanceof TestingError);
        assert.equal(error.code, 'CM_ERR_TESTING_NO_SERVER');
        assert.match(error.message, /redis:\/\/127\.0\.0\.1:1/);
        return true;
      },
    );
  });
});

describe('startSchemaRegistry', { timeout: 300_000 }, () => {
  let server: SchemaRegistryServer;
  before(async () => {
    server = await startSchemaRegistry();
  });
  after(() => server?.stop());

  test('gives a Confluent-compatible registry that registers and lists a subject', async () => {
    const subject = randomName('test-providers-value');
    const schema = {
      type: 'record',
      name: 'Probe',
      namespace: 'test.providers',
      fields: [{ name: 'id', type: 'string' }],
    };
    const response = await fetch(`${server.url}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(schema) }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const { id } = (await response.json()) as { id: number };
    assert.ok(Number.isInteger(id) && id > 0);
    const subjects = (await (await fetch(`${server.url}/subjects`)).json()) as string[];
    assert.ok(subjects.includes(subject));
  });
});
