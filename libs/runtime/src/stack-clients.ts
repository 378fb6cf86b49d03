import { createKafkaBus, type Bus } from '@chatmesh/bus';
import { ConfigError, type ChatmeshConfig } from '@chatmesh/config';
import type { Logger } from '@chatmesh/logging';
import type { ChatmeshMetrics } from '@chatmesh/metrics';
import { createRegistryCodec, type SchemaCodec } from '@chatmesh/schemas';
import { createBusInstrumentation } from './bus-instrumentation.js';

/** The clients of a stack-mode process. */
export interface StackClients {
  readonly bus: Bus;
  readonly codec: SchemaCodec;
}

/**
 * Builds the Kafka bus (kafkajs logs forwarded to pino, events to the metrics) and the registry codec
 * from a stack-mode configuration.
 * @throws ConfigError `CM_ERR_CONFIG_INVALID` when the configuration is not stack mode (a lone service
 * process has no in-process bus to share; `npm start` runs embedded mode).
 */
export function createStackClients(options: {
  config: ChatmeshConfig;
  clientId: string;
  logger: Logger;
  metrics: ChatmeshMetrics;
}): StackClients {
  const { config, logger } = options;
  if (config.mode !== 'stack' || config.schemaRegistryUrl === undefined) {
    throw new ConfigError([
      {
        variable: 'CHATMESH_MODE',
        value: config.mode,
        expected: 'stack',
        message: `CHATMESH_MODE="${config.mode}" cannot run a single service process: expected stack (\`npm start\` runs every service in embedded mode)`,
      },
    ]);
  }
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const bus = createKafkaBus({
    brokers: config.kafkaBrokers,
    clientId: options.clientId,
    instrumentation: createBusInstrumentation(options.metrics),
    logger: (entry) => kafkaLogger[entry.level]({ namespace: entry.namespace, ...entry.extra }, entry.message),
  });
  const codec = createRegistryCodec({ url: config.schemaRegistryUrl, clientId: options.clientId });
  return { bus, codec };
}
