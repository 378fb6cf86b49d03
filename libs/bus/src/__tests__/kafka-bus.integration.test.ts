/**
 * The bus contract suite against a real Kafka: KAFKA_BROKERS when set, otherwise `startKafka()` from
 * @chatmesh/testing (native Kafka 4.1 through `npm run infra -- up`).
 */
import { createKafkaBus, type KafkaBusLogEntry } from '../index.js';
import { runBusContractSuite } from '../testing/contract-suite.js';

interface StartedKafka {
  readonly brokers: readonly string[];
  readonly stop?: () => Promise<void>;
}

async function provideKafka(): Promise<StartedKafka> {
  const fromEnv = process.env.KAFKA_BROKERS?.split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (fromEnv && fromEnv.length > 0) return { brokers: fromEnv };
  // Loaded by name at run time so this package type-checks without depending on the testing lib's API.
  const testingModule = '@chatmesh/testing';
  const testing = (await import(testingModule)) as { startKafka?: () => Promise<StartedKafka> };
  if (!testing.startKafka) throw new Error('Set KAFKA_BROKERS or provide startKafka() in @chatmesh/testing');
  return testing.startKafka();
}

runBusContractSuite(
  'kafka bus',
  async () => {
    const kafka = await provideKafka();
    const warnings: KafkaBusLogEntry[] = [];
    const bus = createKafkaBus({
      brokers: kafka.brokers,
      clientId: 'bus-contract',
      logLevel: 'error',
      logger: (entry) => {
        warnings.push(entry);
        if (process.env.BUS_TEST_LOGS)
          console.error(`[kafkajs ${entry.level}] ${entry.namespace}: ${entry.message} ${JSON.stringify(entry.extra)}`);
      },
    });
    return {
      bus,
      dispose: async () => {
        await bus.close();
        await kafka.stop?.();
      },
    };
  },
  { waitTimeoutMs: 60_000 },
);
