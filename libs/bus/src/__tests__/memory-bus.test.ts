import { createMemoryBus } from '../index.js';
import { runBusContractSuite } from '../testing/contract-suite.js';

runBusContractSuite('memory bus', async () => {
  const bus = createMemoryBus();
  return { bus, dispose: () => bus.close() };
});
