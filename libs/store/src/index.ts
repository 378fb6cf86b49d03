/**
 * @chatmesh/store: the Cassandra data model of the core message path (chats, membership intervals,
 * sequenced chat logs and inboxes with idempotency keys, device cursors, broadcast chats and the devices' positions
 * in them), its versioned migrations, and the in-process twin used in embedded mode. {@link appendFenced} is the
 * exactly-once append of a fenced single writer on top (plain writes stamped with a {@link WriterEpochs} epoch, no
 * consensus round per row).
 */
export type * from './types.js';
export {
  LOG_BUCKET_SIZE,
  bucketOf,
  DEFAULT_LOG_RETENTION,
  DEFAULT_USER_SETTINGS,
  MAX_WRITER_EPOCH,
  writeStampOf,
} from './types.js';
export {
  appendFenced,
  appendFencedBatch,
  FencedHeads,
  WriterEpochs,
  HEAD_HINT_EVERY,
  writtenHeadOf,
  type AppendOutcome,
  type AppendDraft,
} from './fenced-append.js';
export { createMemoryStore, type MemoryStoreOptions } from './memory-store.js';
export {
  createCassandraStore,
  createCassandraClient,
  CASSANDRA_RECONNECT_MAX_DELAY_MS,
  type CassandraStoreOptions,
} from './cassandra-store.js';
export { isCassandraUnavailable, withUnavailableErrors } from './unavailable-errors.js';
export {
  applyMigrations,
  loadMigrations,
  MIGRATIONS_DIR,
  type Migration,
  type ApplyMigrationsOptions,
} from './migrations.js';
export { createMigratedCassandraStore } from './migrated-store.js';
