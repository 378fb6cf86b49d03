import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka, type KafkaServer } from '@chatmesh/testing';

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
 * A Kafka broker for this run alone (unless KAFKA_BROKERS or CHATMESH_TEST_KAFKA names one), because the
 * service joins fixed consumer groups (`chatmesh.presence`...) that other runs on a shared broker would
 * split with us. The same as `startRunKafka()` of `@chatmesh/system-tests`, which this package cannot
 * depend on: the system tests depend on this service, and turbo refuses the cycle.
 */
export async function startPrivateKafka(): Promise<KafkaServer> {
  if (process.env.KAFKA_BROKERS?.trim() || process.env.CHATMESH_TEST_KAFKA?.trim()) return startKafka();
  const stateDir = mkdtempSync(join(tmpdir(), 'chatmesh-presence-kafka-'));
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
