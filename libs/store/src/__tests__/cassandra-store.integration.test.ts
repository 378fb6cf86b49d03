import { randomUUID } from 'node:crypto';
import { startCassandra } from '@chatmesh/testing';
import { applyMigrations, createCassandraClient, createCassandraStore } from '../index.js';
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
