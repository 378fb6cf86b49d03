import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  cassandraContactPointsFromEnv,
  cassandraDataCenterFromEnv,
  compileProviderOptions,
  kafkaBrokersFromEnv,
  redisUrlFromEnv,
  schemaRegistryUrlFromEnv,
  startCassandra,
  startKafka,
  startRedis,
  startSchemaRegistry,
  TestingError,
} from '../index.js';

test('CHATMESH_TEST_* wins over the service variables; nothing set reads as undefined', () => {
  assert.deepEqual(kafkaBrokersFromEnv({ CHATMESH_TEST_KAFKA: 'a:1,b:2', KAFKA_BROKERS: 'c:3' }), ['a:1', 'b:2']);
  assert.deepEqual(kafkaBrokersFromEnv({ KAFKA_BROKERS: ' c:3 ' }), ['c:3']);
  assert.equal(kafkaBrokersFromEnv({}), undefined);
  assert.deepEqual(cassandraContactPointsFromEnv({ CASSANDRA_CONTACT_POINTS: '127.0.0.1:19042' }), ['127.0.0.1:19042']);
  assert.equal(cassandraDataCenterFromEnv({}), 'datacenter1');
  assert.equal(cassandraDataCenterFromEnv({ CASSANDRA_LOCAL_DC: 'dc2' }), 'dc2');
  assert.equal(redisUrlFromEnv({ CHATMESH_TEST_REDIS: 'redis://h:1', REDIS_URL: 'redis://x:2' }), 'redis://h:1');
  assert.equal(schemaRegistryUrlFromEnv({ SCHEMA_REGISTRY_URL: 'http://h:8081/' }), 'http://h:8081');
});

test('malformed endpoints fail with CM_ERR_TESTING_ENDPOINT_INVALID naming the variable', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => kafkaBrokersFromEnv({ KAFKA_BROKERS: 'localhost' }), /KAFKA_BROKERS/],
    [() => cassandraContactPointsFromEnv({ CHATMESH_TEST_CASSANDRA: 'http://x:1' }), /CHATMESH_TEST_CASSANDRA/],
    [() => redisUrlFromEnv({ REDIS_URL: 'http://h:1' }), /REDIS_URL.*redis:/],
    [() => schemaRegistryUrlFromEnv({ SCHEMA_REGISTRY_URL: 'not a url' }), /SCHEMA_REGISTRY_URL/],
  ];
  for (const [read, message] of cases) {
    assert.throws(read, (error: unknown) => {
      assert.ok(error instanceof TestingError);
      assert.equal(error.code, 'CM_ERR_TESTING_ENDPOINT_INVALID');
      assert.match(error.message, message);
      return true;
    });
  }
});

test('an unknown CHATMESH_TEST_PROVIDER is rejected', () => {
  assert.throws(() => compileProviderOptions({ env: { CHATMESH_TEST_PROVIDER: 'docker' } }), {
    code: 'CM_ERR_TESTING_ENDPOINT_INVALID',
  });
  assert.equal(compileProviderOptions({ env: {} }).provider, 'auto');
  assert.equal(compileProviderOptions({ env: { CHATMESH_TEST_KEEP_INFRA: '1' } }).keepStarted, true);
});

test('provider=env without an endpoint fails (never skips) and says how to get a server', async () => {
  const options = { env: { CHATMESH_TEST_PROVIDER: 'env' }, log: () => {} };
  for (const [start, variable] of [
    [startKafka, 'KAFKA_BROKERS'],
    [startCassandra, 'CASSANDRA_CONTACT_POINTS'],
    [startRedis, 'REDIS_URL'],
    [startSchemaRegistry, 'SCHEMA_REGISTRY_URL'],
  ] as const) {
    await assert.rejects(start(options), (error: unknown) => {
      assert.ok(error instanceof TestingError);
      assert.equal(error.code, 'CM_ERR_TESTING_NO_SERVER');
      assert.match(error.message, new RegExp(variable));
      assert.match(error.message, /npm run infra -- up/);
      return true;
    });
  }
});
