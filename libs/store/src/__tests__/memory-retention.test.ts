import { createMemoryStore } from '../index.js';
import { runRetentionContractSuite, SHORT_RETENTION } from './retention-contract.js';

let now = 1_700_000_000_000;
runRetentionContractSuite(
  'memory',
  async () => createMemoryStore({ retention: SHORT_RETENTION, clock: () => now }),
  async () => {
    now += SHORT_RETENTION.inboxSeconds * 1000 + 1;
  },
);
