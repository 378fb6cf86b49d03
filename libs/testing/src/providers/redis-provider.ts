import { probeRedis } from '@chatmesh/infra';

import { redisUrlFromEnv } from '../env-endpoints.js';
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

/** A real Redis for a test. */
export interface RedisServer extends ProvidedServer {
  /** `redis://host:port`, for ioredis. */
  readonly url: string;
}

/** The image testcontainers runs; the native server is Debian's redis-server 7.0. */
export const REDIS_IMAGE = 'redis:7.0';

/**
 * Provides a real Redis: REDIS_URL / CHATMESH_TEST_REDIS when set, else a testcontainers container when
 * a Docker engine answers, else the native server of @chatmesh/infra (reused if it runs).
 * Call `stop()` in an `after` hook.
 * @throws TestingError CM_ERR_TESTING_NO_SERVER (with how to get one), CM_ERR_TESTING_ENDPOINT_INVALID
 */
export async function startRedis(options: ProviderOptions = {}): Promise<RedisServer> {
  const compiled = compileProviderOptions(options);
  const fromEnv = endpointFromEnv(compiled, 'redis', 'Redis', redisUrlFromEnv);
  if (fromEnv !== undefined) {
    const health = await checkEnvServer(
      'redis',
      fromEnv,
      () => probeRedis(fromEnv),
      Math.min(compiled.readyTimeoutMs, 30_000),
    );
    return { provider: 'env', url: fromEnv, version: health.version, stop: async () => {} };
  }
  if ((await chooseSpawningProvider(compiled)) === 'testcontainers') {
    const { GenericContainer, Wait } = await import('testcontainers');
    compiled.log(`redis: starting container ${REDIS_IMAGE}`);
    const container = await new GenericContainer(REDIS_IMAGE)
      .withExposedPorts(6379)
      .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
    const url = `redis://${await dockerHost()}:${container.getMappedPort(6379)}`;
    const health = await waitForHealthy(() => probeRedis(url), compiled.readyTimeoutMs, `redis container at ${url}`);
    return {
      provider: 'testcontainers',
      url,
      version: health.version,
      stop: once(async () => void (await container.stop())),
    };
  }
  const { result, stop } = await provideNative('redis', ['redis'], compiled);
  return { provider: 'native', url: result.endpoints.redisUrl, version: result.health.redis?.version, stop };
}
