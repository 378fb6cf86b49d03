import { createCassandraClient, createCassandraStore, type CassandraStoreOptions } from './cassandra-store.js';
import { applyMigrations } from './migrations.js';
import type { ChatStore } from './types.js';

/**
 * Applies the migrations to `options.keyspace` (creating it when missing), then opens the store on it:
 * the first step of every stack test, benchmark and tool that works in a keyspace of its own. Production
 * runs the migrations as their own command first (`npm run stack` does), then opens the store.
 */
export async function createMigratedCassandraStore(options: Omit<CassandraStoreOptions, 'client'>): Promise<ChatStore> {
  const client = createCassandraClient({
    contactPoints: options.contactPoints,
    ...(options.localDataCenter === undefined ? {} : { localDataCenter: options.localDataCenter }),
  });
  await client.connect();
  try {
    await applyMigrations(client, { keyspace: options.keyspace });
  } finally {
    await client.shutdown();
  }
  return createCassandraStore(options);
}
