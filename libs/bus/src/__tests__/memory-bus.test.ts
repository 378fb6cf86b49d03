import { createMemoryBus } from '../index.js';
import { runBusContractSuite } from '../testing/contract-suite.js';
import { runTransactionalContractSuite } from '../testing/transactional-suite.js';

runBusContractSuite('memory bus', async () => {
  const bus = createMemoryBus();
  return { bus, dispose: () => bus.close() };
});

runTransactionalContractSuite('memory bus: transactional subscriptions', async () => {
  // A member stuck for a second loses its partition, as a paused Kafka member does after its rebalance timeout.
  const bus = createMemoryBus({ rebalanceTimeoutMs: 1_000 });
  return { bus, dispose: () => bus.close() };
});
