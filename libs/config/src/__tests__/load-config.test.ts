import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isChatmeshError } from '@chatmesh/errors';
import {
  CONFIG_DEFAULTS,
  CONFIG_VARIABLES,
  ConfigError,
  SERVICE_NAMES,
  defineConfigSection,
  defineVariable,
  findUnknownVariables,
  loadConfig,
  parsers,
  renderDefault,
} from '../index.js';

function loadError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('loadConfig accepted an invalid environment');
}

test('an empty environment yields the embedded defaults', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.mode, 'embedded');
  assert.equal(config.httpHost, CONFIG_DEFAULTS.httpHost);
  assert.equal(config.httpPort, 8080);
  assert.equal(config.logLevel, 'info');
  assert.deepEqual(config.kafkaBrokers, []);
  assert.equal(config.schemaRegistryUrl, undefined);
  assert.equal(config.redisUrl, undefined);
  assert.deepEqual(config.services, [...SERVICE_NAMES]);
  assert.equal(config.shutdownTimeoutMs, 15_000);
  assert.deepEqual(config.sections, {});
});

test('values are parsed into their types, empty strings count as unset', () => {
  const config = loadConfig({
    env: {
      CHATMESH_HTTP_PORT: ' 0 ',
      KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
      CHATMESH_SERVICES: 'ingest,fan-out',
      CHATMESH_LOG_LEVEL: '',
      CHATMESH_SHUTDOWN_TIMEOUT_MS: '2500',
    },
  });
  assert.equal(config.httpPort, 0);
  assert.deepEqual(config.kafkaBrokers, ['127.0.0.1:9092', '127.0.0.1:9093']);
  assert.deepEqual(config.services, ['ingest', 'fan-out']);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.shutdownTimeoutMs, 2500);
});

test('the result is deep-frozen', () => {
  const config = loadConfig({ env: { KAFKA_BROKERS: 'a:1' } });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.kafkaBrokers));
  assert.ok(Object.isFrozen(config.services));
  assert.ok(Object.isFrozen(config.sections));
  assert.throws(() => {
    (config as { httpPort: number }).httpPort = 1;
  }, TypeError);
  assert.throws(() => (config.kafkaBrokers as string[]).push('b:2'), TypeError);
});

test('every bad variable is listed with its name, value and expectation', () => {
  const error = loadError({
    CHATMESH_HTTP_PORT: 'abc',
    CHATMESH_MODE: 'bogus',
    CHATMESH_LOG_LEVEL: 'loud',
    KAFKA_BROKERS: 'localhost',
    CHATMESH_SERVICES: 'ingest,mailer',
    REDIS_URL: 'http://x',
    CHATMESH_SHUTDOWN_TIMEOUT_MS: '5s',
  });
  assert.equal(error.code, 'CM_ERR_CONFIG_INVALID');
  assert.equal(error.retriable, false);
  assert.ok(isChatmeshError(error, 'CM_ERR_CONFIG_INVALID'));
  assert.deepEqual(error.problems.map((p) => p.variable).sort(), [
    'CHATMESH_HTTP_PORT',
    'CHATMESH_LOG_LEVEL',
    'CHATMESH_MODE',
    'CHATMESH_SERVICES',
    'CHATMESH_SHUTDOWN_TIMEOUT_MS',
    'KAFKA_BROKERS',
    'REDIS_URL',
  ]);
  const port = error.problems.find((p) => p.variable === 'CHATMESH_HTTP_PORT');
  assert.equal(port?.message, 'CHATMESH_HTTP_PORT="abc" is not a valid port: expected an integer 0-65535');
  assert.equal(port?.value, 'abc');
  assert.match(error.message, /CHATMESH_MODE="bogus" is not a valid mode: expected one of embedded, stack/);
  assert.match(error.message, /^Invalid configuration \(7 problems\):/);
});

test('ports out of range and negative numbers are rejected', () => {
  for (const value of ['65536', '-1', '80.5', '1e3']) {
    const error = loadError({ CHATMESH_HTTP_PORT: value });
    assert.equal(error.problems[0]?.variable, 'CHATMESH_HTTP_PORT', value);
  }
});

test('stack mode requires the endpoints and says how to get them', () => {
  const error = loadError({ CHATMESH_MODE: 'stack', KAFKA_BROKERS: '127.0.0.1:9092' });
  assert.deepEqual(error.problems.map((p) => p.variable).sort(), [
    'CASSANDRA_CONTACT_POINTS',
    'REDIS_URL',
    'SCHEMA_REGISTRY_URL',
  ]);
  assert.match(error.message, /REDIS_URL is not set: it is required when CHATMESH_MODE=stack/);
  assert.match(error.message, /npm run infra -- up/);

  const config = loadConfig({
    env: {
      CHATMESH_MODE: 'stack',
      KAFKA_BROKERS: '127.0.0.1:9092',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
      CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042',
      REDIS_URL: 'redis://127.0.0.1:6379',
    },
  });
  assert.equal(config.mode, 'stack');
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
});

test('secrets in URLs are masked in problems', () => {
  const error = loadError({ REDIS_URL: 'http://user:hunter2@host' });
  assert.doesNotMatch(error.message, /hunter2/);
  assert.match(error.message, /REDIS_URL="http:\/\/\*\*\*@host"/);
});

test('a service section is validated together with the base and typed under config.sections', () => {
  const gateway = defineConfigSection({
    description: 'Gateway settings',
    variables: {
      maxFrameBytes: defineVariable({
        env: 'CHATMESH_TEST_SECTION_MAX_FRAME_BYTES',
        description: 'Largest frame',
        schema: parsers.integer(1, 1_000_000),
        noun: 'size',
        expected: 'an integer 1-1000000',
        default: 65_536,
      }),
    },
  });
  const config = loadConfig({ env: {}, sections: { gateway } });
  const maxFrameBytes: number = config.sections.gateway.maxFrameBytes;
  assert.equal(maxFrameBytes, 65_536);
  assert.ok(Object.isFrozen(config.sections.gateway));

  try {
    loadConfig({ env: { CHATMESH_TEST_SECTION_MAX_FRAME_BYTES: '0', CHATMESH_HTTP_PORT: 'x' }, sections: { gateway } });
    assert.fail('expected ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems.map((p) => p.variable).sort(), [
      'CHATMESH_HTTP_PORT',
      'CHATMESH_TEST_SECTION_MAX_FRAME_BYTES',
    ]);
  }
});

test('two tables declaring one variable is a programming error with its own code', () => {
  const clash = defineConfigSection({ description: 'x', variables: { port: CONFIG_VARIABLES.httpPort } });
  assert.throws(
    () => loadConfig({ env: {}, sections: { clash } }),
    (error: unknown) => isChatmeshError(error, 'CM_ERR_CONFIG_SECTION_CONFLICT'),
  );
});

test('unknown CHATMESH_ variables are reported (typos), test variables are not', () => {
  assert.deepEqual(
    findUnknownVariables({
      CHATMESH_HTTP_PROT: '1',
      CHATMESH_HTTP_PORT: '1',
      CHATMESH_TEST_KAFKA: 'x',
      CHATMESH_INFRA_DIR: '/tmp',
      PATH: '/',
    }),
    ['CHATMESH_HTTP_PROT'],
  );
});

test('docs/configuration.md lists every base variable with its default', () => {
  const docs = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
  for (const variable of Object.values(CONFIG_VARIABLES)) {
    const row = docs.split('\n').find((line) => line.startsWith(`| \`${variable.env}\` |`));
    assert.ok(
      row,
      `${variable.env} is missing from docs/configuration.md: run npm run docs:config -w @chatmesh/launcher`,
    );
    assert.ok(row.includes(`| ${renderDefault(variable as never)} |`), `${variable.env} default is stale in the docs`);
  }
});

test('getConfigSection returns a loaded section and names a missing one', async () => {
  const { getConfigSection } = await import('../index.js');
  const push = defineConfigSection({
    description: 'Push',
    variables: {
      coalesceMs: defineVariable({
        env: 'CHATMESH_TEST_SECTION_COALESCE_MS',
        description: 'x',
        schema: parsers.integer(0, 60_000),
        noun: 'duration',
        expected: 'an integer 0-60000',
        default: 500,
      }),
    },
  });
  const config = loadConfig({ env: { CHATMESH_TEST_SECTION_COALESCE_MS: '20' }, sections: { push } });
  assert.equal(getConfigSection(config, 'push', push).coalesceMs, 20);
  assert.throws(
    () => getConfigSection(config, 'gateway', push),
    (error: unknown) => isChatmeshError(error, 'CM_ERR_CONFIG_SECTION_MISSING'),
  );
});
