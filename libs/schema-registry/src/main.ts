/**
 * The schema registry process (started by `npm run infra -- up` and in stack mode).
 * Env: KAFKA_BROKERS (required), SCHEMA_REGISTRY_HOST (127.0.0.1), SCHEMA_REGISTRY_PORT (18081),
 * SCHEMA_REGISTRY_TOPIC (_schemas). Stops gracefully on SIGTERM / SIGINT.
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '@chatmesh/logging';
import { loadRegistryConfig } from './registry-config.js';
import { startSchemaRegistry } from './schema-registry-server.js';
import { KafkaSchemaStore } from './store/kafka-schema-store.js';

const logger = createLogger({ service: 'schema-registry' });
const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

async function main(): Promise<void> {
  const config = loadRegistryConfig(process.env);
  const store = new KafkaSchemaStore({ brokers: config.kafkaBrokers, topic: config.topic });
  const running = await startSchemaRegistry({
    store,
    host: config.host,
    port: config.port,
    version: packageJson.version,
    logger,
  });
  logger.info(
    { url: running.url, brokers: config.kafkaBrokers, topic: config.topic },
    `schema registry listening on ${running.url}`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'schema registry stopping');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'schema registry did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await running.ready;
  } catch (error) {
    logger.fatal({ err: error }, 'schema registry cannot read its store');
    await running.close().catch(() => undefined);
    process.exit(1);
  }
  logger.info({ subjects: running.registry.subjects().length }, 'schema registry ready');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'schema registry failed to start');
  process.exit(1);
});
