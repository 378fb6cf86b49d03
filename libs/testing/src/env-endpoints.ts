import { TestingError, type TestServer } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The environment variables each server's endpoint may come from, in order of precedence:
 * the test-only `CHATMESH_TEST_*` name first, then the name the services themselves read.
 */
export const ENDPOINT_ENV = {
  kafka: ['CHATMESH_TEST_KAFKA', 'KAFKA_BROKERS'],
  cassandra: ['CHATMESH_TEST_CASSANDRA', 'CASSANDRA_CONTACT_POINTS'],
  redis: ['CHATMESH_TEST_REDIS', 'REDIS_URL'],
  'schema-registry': ['CHATMESH_TEST_SCHEMA_REGISTRY', 'SCHEMA_REGISTRY_URL'],
  s3: ['CHATMESH_TEST_S3', 'S3_ENDPOINT'],
} as const satisfies Record<TestServer, readonly string[]>;

function firstSet(env: Env, server: TestServer): { name: string; value: string } | undefined {
  for (const name of ENDPOINT_ENV[server]) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

function hostPortList(server: TestServer, name: string, value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  const bad = items.filter((item) => !/^[^\s:/]+:\d{1,5}$/.test(item) && !/^\[[0-9a-f:]+\]:\d{1,5}$/i.test(item));
  if (items.length === 0 || bad.length > 0) {
    throw new TestingError(
      'CM_ERR_TESTING_ENDPOINT_INVALID',
      `${name}="${value}" must be a comma-separated host:port list`,
      {
        server,
        context: { variable: name, value },
      },
    );
  }
  return items;
}

function url(server: TestServer, name: string, value: string, protocols: readonly string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch (error) {
    throw new TestingError('CM_ERR_TESTING_ENDPOINT_INVALID', `${name}="${value}" is not a URL`, {
      server,
      cause: error,
      context: { variable: name, value },
    });
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new TestingError('CM_ERR_TESTING_ENDPOINT_INVALID', `${name}="${value}" must use ${protocols.join(' or ')}`, {
      server,
      context: { variable: name, value },
    });
  }
  return value.replace(/\/$/, '');
}

/** Kafka brokers from CHATMESH_TEST_KAFKA or KAFKA_BROKERS, or undefined. @throws TestingError CM_ERR_TESTING_ENDPOINT_INVALID */
export function kafkaBrokersFromEnv(env: Env): string[] | undefined {
  const found = firstSet(env, 'kafka');
  return found && hostPortList('kafka', found.name, found.value);
}

/** Cassandra contact points from CHATMESH_TEST_CASSANDRA or CASSANDRA_CONTACT_POINTS, or undefined. @throws TestingError CM_ERR_TESTING_ENDPOINT_INVALID */
export function cassandraContactPointsFromEnv(env: Env): string[] | undefined {
  const found = firstSet(env, 'cassandra');
  return found && hostPortList('cassandra', found.name, found.value);
}

/** The Cassandra local data center: CHATMESH_TEST_CASSANDRA_DC, CASSANDRA_LOCAL_DC, else `datacenter1`. */
export function cassandraDataCenterFromEnv(env: Env): string {
  return env.CHATMESH_TEST_CASSANDRA_DC?.trim() || env.CASSANDRA_LOCAL_DC?.trim() || 'datacenter1';
}

/** The Redis URL from CHATMESH_TEST_REDIS or REDIS_URL, or undefined. @throws TestingError CM_ERR_TESTING_ENDPOINT_INVALID */
export function redisUrlFromEnv(env: Env): string | undefined {
  const found = firstSet(env, 'redis');
  return found && url('redis', found.name, found.value, ['redis:', 'rediss:']);
}

/** The schema registry URL from CHATMESH_TEST_SCHEMA_REGISTRY or SCHEMA_REGISTRY_URL, or undefined. @throws TestingError CM_ERR_TESTING_ENDPOINT_INVALID */
export function schemaRegistryUrlFromEnv(env: Env): string | undefined {
  const found = firstSet(env, 'schema-registry');
  return found && url('schema-registry', found.name, found.value, ['http:', 'https:']);
}

/** The S3 API endpoint from CHATMESH_TEST_S3 or S3_ENDPOINT, or undefined. @throws TestingError CM_ERR_TESTING_ENDPOINT_INVALID */
export function s3EndpointFromEnv(env: Env): string | undefined {
  const found = firstSet(env, 's3');
  return found && url('s3', found.name, found.value, ['http:', 'https:']);
}
