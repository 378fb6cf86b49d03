/**
 * The bus contract suite against a real Kafka: KAFKA_BROKERS when set, otherwise `startKafka()` from
 * @chatmesh/testing (native Kafka 4.1 through `npm run infra -- up`).
 */
import { startKafka } from '@chatmesh/testing';
import { createKafkaBus, type KafkaBusLogEntry } from '../index.js';
import { runBusContractSuite, type BusContractTarget } from '../testing/contract-suite.js';
import { runTransactionalContractSuite } from '../testing/transactional-suite.js';

/** A Kafka bus on the test broker; kafkajs errors are printed with BUS_TEST_LOGS=1. */
async function kafkaTarget(clientId: string): Promise<BusContractTarget> {
  const kafka = await startKafka();
  const bus = createKafkaBus({
    brokers: kafka.brokers,
    clientId,
    logLevel: 'error',
    logger: (entry: KafkaBusLogEntry) => {
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
}

runBusContractSuite('kafka bus', () => kafkaTarget('bus-contract'), { waitTimeoutMs: 60_000 });

runTransactionalContractSuite('kafka bus: transactional subscriptions', () => kafkaTarget('bus-transactional'), {
  waitTimeoutMs: 60_000,
});
