/**
 * @chatmesh/store: the Cassandra data model of the core message path (chats, membership intervals,
 * sequenced chat logs and inboxes with idempotency keys, device cursors), its versioned migrations,
 * and the in-process twin used in embedded mode. {@link appendOnce} is the exactly-once append on top.
 */
export type * from './types.js';
export { LOG_BUCKET_SIZE, bucketOf, DEFAULT_USER_SETTINGS } from './types.js';
export { appendOnce, StreamHeads, type AppendOutcome, type AppendDraft } from './append-once.js';
export { createMemoryStore } from './memory-store.js';
export { createCassandraStore, createCassandraClient, type CassandraStoreOptions } from './cassandra-store.js';
export {
  applyMigrations,
  loadMigrations,
  MIGRATIONS_DIR,
  type Migration,
  type ApplyMigrationsOptions,
} from './migrations.js';
export { createMigratedCassandraStore } from './migrated-store.js';
