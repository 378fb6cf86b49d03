import { randomUUID } from 'node:crypto';
import { startCassandra } from '@chatmesh/testing';
import {
  applyMigrations,
  createCassandraClient,
  createCassandraStore,
  createMigratedCassandraStore,
} from '../index.js';
import { runRetentionContractSuite, SHORT_RETENTION } from './retention-contract.js';
import { runStoreContractSuite } from './store-contract.js';

runStoreContractSuite('cassandra', async () => {
  const cassandra = await startCassandra();
  const keyspace = `test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = createCassandraClient({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
  });
  await applyMigrations(admin, { keyspace });
  await admin.shutdown();
  const store = await createCassandraStore({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
    keyspace,
  });
  return {
    ...store,
    close: async () => {
      await store.close();
      await cassandra.stop();
    },
  };
});

runRetentionContractSuite(
  'cassandra (TTL of seconds)',
  async () => {
    const cassandra = await startCassandra();
    const keyspace = `test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const store = await createMigratedCassandraStore({
      contactPoints: cassandra.contactPoints,
      localDataCenter: cassandra.localDataCenter,
      keyspace,
      retention: SHORT_RETENTION,
    });
    return {
      ...store,
      close: async () => {
        await store.close();
        await cassandra.stop();
      },
    };
  },
  // Cassandra counts TTLs in whole seconds: past the retention plus one second, every earlier write is gone.
  () => new Promise((resolve) => setTimeout(resolve, (SHORT_RETENTION.inboxSeconds + 1) * 1000)),
);
