import { createMemoryWatchStore } from '../index.js';
import { runWatchStoreContract } from './watch-store-contract.js';

runWatchStoreContract('memory watch store', async () => {
  const store = createMemoryWatchStore();
  return { store, dispose: () => store.close() };
});
