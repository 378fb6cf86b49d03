import { probeKafka } from '@chatmesh/infra';

import { kafkaBrokersFromEnv } from '../env-endpoints.js';
import { dockerHost } from '../internal/docker.js';
import { findFreePort } from '../internal/free-port.js';
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

/** A real Kafka for a test. */
export interface KafkaServer extends ProvidedServer {
  /** `host:port` of each broker, for kafkajs `brokers`. */
  readonly brokers: string[];
}

/** The image testcontainers runs: the same Kafka release as the native broker. */
export const KAFKA_IMAGE = 'apache/kafka:4.1.1';

/**
 * Provides a real Kafka (ready: a consumer group can join): KAFKA_BROKERS / CHATMESH_TEST_KAFKA when
 * set, else a testcontainers container when a Docker engine answers, else the native broker of
 * @chatmesh/infra (reused if it runs). Call `stop()` in an `after` hook.
 * @throws TestingError CM_ERR_TESTING_NO_SERVER (with how to get one), CM_ERR_TESTING_ENDPOINT_INVALID
 */
export async function startKafka(options: ProviderOptions = {}): Promise<KafkaServer> {
  const compiled = compileProviderOptions(options);
  const fromEnv = endpointFromEnv(compiled, 'kafka', 'Kafka', kafkaBrokersFromEnv);
  if (fromEnv !== undefined) {
    const health = await checkEnvServer(
      'kafka',
      fromEnv.join(','),
      () => probeKafka(fromEnv),
      Math.min(compiled.readyTimeoutMs, 60_000),
    );
    return { provider: 'env', brokers: fromEnv, version: health.version, stop: async () => {} };
  }
  if ((await chooseSpawningProvider(compiled)) === 'testcontainers') {
    const { GenericContainer, Wait } = await import('testcontainers');
    const host = await dockerHost();
    // The broker advertises the address clients must use, so the host port is chosen before start.
    const port = await findFreePort();
    compiled.log(`kafka: starting container ${KAFKA_IMAGE} on ${host}:${port}`);
    const container = await new GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: 9092, host: port })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forListeningPorts())
      .withStartupTimeout(compiled.readyTimeoutMs)
      .start();
    const brokers = [`${host}:${port}`];
    const stop = once(async () => void (await container.stop()));
    try {
      const health = await waitForHealthy(
        () => probeKafka(brokers),
        compiled.readyTimeoutMs,
        `kafka container at ${brokers[0]}`,
      );
      return { provider: 'testcontainers', brokers, version: health.version, stop };
    } catch (error) {
      await stop();
      throw error;
    }
  }
  const { result, stop } = await provideNative('kafka', ['kafka'], compiled);
  return { provider: 'native', brokers: result.endpoints.kafkaBrokers, version: result.health.kafka?.version, stop };
}
