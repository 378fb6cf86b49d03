import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka, type KafkaServer } from './providers/kafka-provider.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A Kafka broker for this run alone, unless the environment names one (KAFKA_BROKERS or
 * CHATMESH_TEST_KAFKA: then that broker is used, and keeping runs apart is the environment's job).
 *
 * Why: the services join fixed consumer groups (`chatmesh.ingest`...). On a broker shared with other
 * runs (a benchmark, another stack test), their processes join the same groups, take some of this run's
 * partitions and answer its commands from their own keyspace ("not found"); and a group with foreign
 * members cannot be rewound for a replay test. A private broker (the native one of
 * `@chatmesh/infra`, through `@chatmesh/testing`'s provider, with its own state directory and ports)
 * costs about 10 s and 400 MB; the registry, Cassandra (a fresh keyspace) and Redis (unique user ids)
 * are shared safely.
 */
export async function startRunKafka(): Promise<KafkaServer> {
  if (process.env.KAFKA_BROKERS?.trim() || process.env.CHATMESH_TEST_KAFKA?.trim()) return startKafka();
  const stateDir = mkdtempSync(join(tmpdir(), 'chatmesh-system-kafka-'));
  const server = await startKafka({
    provider: 'native',
    keepStarted: false,
    env: {
      ...process.env,
      CHATMESH_INFRA_DIR: stateDir,
      CHATMESH_INFRA_KAFKA_PORT: String(await freePort()),
      CHATMESH_INFRA_KAFKA_CONTROLLER_PORT: String(await freePort()),
    },
  });
  return {
    ...server,
    stop: async () => {
      await server.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
