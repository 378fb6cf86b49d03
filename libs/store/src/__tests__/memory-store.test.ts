import { createMemoryStore } from '../index.js';
import { runStoreContractSuite } from './store-contract.js';

runStoreContractSuite('memory', async () => createMemoryStore());
