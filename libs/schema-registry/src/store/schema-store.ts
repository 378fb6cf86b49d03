import type { CompatibilityLevel } from '../compatibility.js';

/** A schema registered under a subject, as kept in the store. */
export interface SchemaRecord {
  readonly kind: 'schema';
  readonly subject: string;
  readonly version: number;
  /** Global id: one per distinct schema, shared by every subject that registers it. */
  readonly id: number;
  /** The schema text in canonical (whitespace-free JSON) form. */
  readonly schema: string;
  /**
   * A random token of the write, so the writer can tell whether its own record won: when two
   * instances race for the same id or version, the first in log order wins and later ones are ignored.
   */
  readonly nonce: string;
}

/** A compatibility setting; `subject` null is the global one. Later records replace earlier ones. */
export interface ConfigRecord {
  readonly kind: 'config';
  readonly subject: string | null;
  readonly compatibilityLevel: CompatibilityLevel;
}

/** What the store holds, in log order. */
export type StoreRecord = SchemaRecord | ConfigRecord;

/**
 * Durable, ordered storage of registry records that several registry instances share, like Confluent's
 * KafkaStore. Every instance applies every record in the same order, so all derive the same view.
 */
export interface SchemaStore {
  /**
   * Reads the log from the beginning, calling `apply` for every record in order, and keeps following it.
   * Resolves once everything written before the call has been applied (caught up).
   * @throws SchemaStoreError when the log cannot be reached.
   */
  start(apply: (record: StoreRecord) => void): Promise<void>;
  /**
   * Appends a record and resolves only once this instance has read it back and applied it, so the
   * caller's view then reflects the log order around its write.
   * @throws SchemaStoreError (retriable) when the write or read-back fails or times out.
   */
  append(record: StoreRecord): Promise<void>;
  /** True once {@link start} has caught up. */
  isCaughtUp(): boolean;
  /** Stops following and releases connections. */
  close(): Promise<void>;
}
