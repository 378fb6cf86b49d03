/**
 * The bus contract suite against a real Kafka: KAFKA_BROKERS when set, otherwise `startKafka()` from
 * @chatmesh/testing (native Kafka 4.1 through `npm run infra -- up`).
 */
import { startKafka } from '@chatmesh/testing';
import { createKafkaBus, type KafkaBusLogEntry } from '../index.js';
import { runBusContractSuite } from '../testing/contract-suite.js';
import { runTransactionalContractSuite } from '../testing/transactional-suite.js';

runBusContractSuite(
  'kafka bus',
  async () => {
    const kafka = await startKafka();
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
        await kafka.stop();
      },
    };
  },
  { waitTimeoutMs: 60_000 },
);

runTransactionalContractSuite(
  'kafka bus: transactional subscriptions',
  async () => {
    const kafka = await startKafka();
    const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'bus-transactional', logLevel: 'nothing' });
    return {
      bus,
      dispose: async () => {
        await bus.close();
        await kafka.stop();
      },
    };
  },
  { waitTimeoutMs: 60_000 },
);
