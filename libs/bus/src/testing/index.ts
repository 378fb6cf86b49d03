/**
 * @chatmesh/bus/testing: the bus contract suite and its helpers, for tests only (imports `node:test`).
 * Other packages run {@link runBusContractSuite} against their own bus wiring through this subpath.
 */
export {
  runBusContractSuite,
  encodeDeadLetterJson,
  decodeDeadLetterJson,
  type BusContractTarget,
  type BusContractSuiteOptions,
} from './contract-suite.js';
export { kafkajsPartitionForKey, PARTITIONER_REFERENCE_KEYS } from './kafkajs-partition.js';
export { waitFor, createGate, type WaitForOptions } from './wait-for.js';
export { collectRecords } from './collect-records.js';
export { runTransactionalContractSuite, type TransactionalSuiteOptions } from './transactional-suite.js';
