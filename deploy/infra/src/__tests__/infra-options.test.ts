import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { compileInfraOptions, InfraError, INFRA_DEFAULTS, parseComponentList, REPO_ROOT } from '../index.js';

test('defaults: fixed loopback ports, state under <repo>/.infra, every component', () => {
  const options = compileInfraOptions({ env: { HOME: '/home/someone' } });
  assert.deepEqual(options.ports, INFRA_DEFAULTS.ports);
  assert.equal(options.ports.kafka, 19092);
  assert.equal(options.ports.cassandra, 19042);
  assert.equal(options.ports.redis, 16379);
  assert.equal(options.ports.schemaRegistry, 18081);
  assert.equal(options.host, '127.0.0.1');
  assert.equal(options.stateDir, join(REPO_ROOT, '.infra'));
  assert.deepEqual(options.components, ['kafka', 'cassandra', 'redis', 'schema-registry', 's3']);
  assert.ok(Object.isFrozen(options));
});

test('env overrides ports and dirs; explicit options override env', () => {
  const options = compileInfraOptions({
    env: {
      CHATMESH_INFRA_KAFKA_PORT: '29092',
      CHATMESH_INFRA_REDIS_PORT: '26379',
      CHATMESH_INFRA_DIR: '/tmp/x',
      CHATMESH_CACHE_DIR: '/tmp/c',
    },
    ports: { redis: 36379 },
  });
  assert.equal(options.ports.kafka, 29092);
  assert.equal(options.ports.redis, 36379);
  assert.equal(options.stateDir, '/tmp/x');
  assert.equal(options.cacheDir, '/tmp/c');
});

test('XDG_CACHE_HOME is honoured for the jar cache', () => {
  assert.equal(compileInfraOptions({ env: { XDG_CACHE_HOME: '/var/cache/me' } }).cacheDir, '/var/cache/me/chatmesh');
});

test('every bad option is listed at once, with its value', () => {
  assert.throws(
    () =>
      compileInfraOptions({
        env: {
          CHATMESH_INFRA_KAFKA_PORT: 'abc',
          CHATMESH_INFRA_CASSANDRA_PORT: '70000',
          CHATMESH_INFRA_READY_TIMEOUT_MS: '-1',
        },
        ports: { redis: 18081 },
      }),
    (error: unknown) => {
      assert.ok(error instanceof InfraError);
      assert.equal(error.code, 'CM_ERR_INFRA_OPTIONS_INVALID');
      const problems = error.context.problems as string[];
      assert.equal(problems.length, 4, problems.join('\n'));
      assert.match(error.message, /CHATMESH_INFRA_KAFKA_PORT.*got abc/);
      assert.match(error.message, /got 70000/);
      assert.match(error.message, /redis are both 18081|schemaRegistry and redis|both 18081/);
      assert.match(error.message, /readyTimeoutMs/);
      return true;
    },
  );
});

test('component lists keep the canonical order and reject unknown names', () => {
  assert.deepEqual(parseComponentList('redis, kafka'), ['kafka', 'redis']);
  assert.throws(
    () => parseComponentList('kafka,zookeeper'),
    (error: unknown) =>
      error instanceof InfraError && error.code === 'CM_ERR_INFRA_OPTIONS_INVALID' && /zookeeper/.test(error.message),
  );
  assert.throws(() => parseComponentList(''), { code: 'CM_ERR_INFRA_OPTIONS_INVALID' });
});
