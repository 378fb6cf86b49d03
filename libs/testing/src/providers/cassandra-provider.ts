import { probeCassandra } from '@chatmesh/infra';

import { cassandraContactPointsFromEnv, cassandraDataCenterFromEnv } from '../env-endpoints.js';
import { dockerHost } from '../internal/docker.js';
import {
  checkEnvServer,
  chooseSpawningProvider,
  compileProviderOptions,
  endpointFromEnv,
  once,
  provideNative,
  type ProvidedServer,
  type ProviderOptions,
  waitForHealthy,
} from './provider.js';

/** A real Cassandra for a test. */
export interface CassandraServer extends ProvidedServer {
  /** `host:port` of each node, for cassandra-driver `contactPoints`. */
  readonly contactPoints: string[];
  /** cassandra-driver `localDataCenter`. */
  readonly localDataCenter: string;
}

/** The image testcontainers runs: the same Cassandra release as the native node. */
export const CASSANDRA_IMAGE = 'cassandra:5.0.6';

/**
 * Provides a real Cassandra (ready: a CQL query answers): CASSANDRA_CONTACT_POINTS /
 * CHATMESH_TEST_CASSANDRA when set (data center from CASSANDRA_LOCAL_DC, default
 * `datacenter1`), else a testcontainers container when a Docker engine answers, else the native node
 * of @chatmesh/infra (reused if it runs). Give each test its own keyspace ({@link randomKeyspaceName}).
 * @throws TestingError CM_ERR_TESTING_NO_SERVER (with how to get one), CM_ERR_TESTING_ENDPOINT_INVALID
 */
export async function startCassandra(options: ProviderOptions = {}): Promise<CassandraServer> {
  const compiled = compileProviderOptions(options);
  const fromEnv = endpointFromEnv(compiled, 'cassandra', 'Cassandra', cassandraContactPointsFromEnv);
  if (fromEnv !== undefined) {
    const localDataCenter = cassandraDataCenterFromEnv(compiled.env);
    const health = await checkEnvServer(
      'cassandra',
      fromEnv.join(','),
      () => probeCassandra(fromEnv, localDataCenter),
      Math.min(compiled.readyTimeoutMs, 60_000),
    );
    return { provider: 'env', contactPoints: fromEnv, localDataCenter, version: health.version, stop: async () => {} };
  }
  if ((await chooseSpawningProvider(compiled)) === 'testcontainers') {
    const { GenericContainer, Wait } = await import('testcontainers');
    compiled.log(`cassandra: starting container ${CASSANDRA_IMAGE}`);
    const container = await new GenericContainer(CASSANDRA_IMAGE)
      .withExposedPorts(9042)
      .withEnvironment({ MAX_HEAP_SIZE: '1G', HEAP_NEWSIZE: '256M', CASSANDRA_DC: 'datacenter1' })
      .withWaitStrategy(Wait.forLogMessage(/Starting listening for CQL clients/))
      .withStartupTimeout(compiled.readyTimeoutMs)
      .start();
    const contactPoints = [`${await dockerHost()}:${container.getMappedPort(9042)}`];
    const stop = once(async () => void (await container.stop()));
    try {
      const health = await waitForHealthy(
        () => probeCassandra(contactPoints, 'datacenter1'),
        compiled.readyTimeoutMs,
        `cassandra container at ${contactPoints[0]}`,
      );
      return {
        provider: 'testcontainers',
        contactPoints,
        localDataCenter: 'datacenter1',
        version: health.version,
        stop,
      };
    } catch (error) {
      await stop();
      throw error;
    }
  }
  const { result, stop } = await provideNative('cassandra', ['cassandra'], compiled);
  return {
    provider: 'native',
    contactPoints: result.endpoints.cassandraContactPoints,
    localDataCenter: result.endpoints.cassandraLocalDataCenter,
    version: result.health.cassandra?.version,
    stop,
  };
}
