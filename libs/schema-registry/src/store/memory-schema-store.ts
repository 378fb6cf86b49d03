import type { SchemaStore, StoreRecord } from './schema-store.js';

interface SharedLog {
  readonly records: StoreRecord[];
  readonly listeners: Set<(record: StoreRecord) => void>;
}

/**
 * A {@link SchemaStore} in process memory, for tests and single-process use. Handles made with
 * {@link MemorySchemaStore.share} see the same log, as registry instances share `_schemas`.
 */
export class MemorySchemaStore implements SchemaStore {
  readonly #log: SharedLog;
  #listener: ((record: StoreRecord) => void) | undefined;

  constructor(log: SharedLog = { records: [], listeners: new Set() }) {
    this.#log = log;
  }

  /** Another handle on the same log, for another registry instance. */
  share(): MemorySchemaStore {
    return new MemorySchemaStore(this.#log);
  }

  /** Every record appended so far, in order (for tests). */
  records(): readonly StoreRecord[] {
    return this.#log.records;
  }

  async start(apply: (record: StoreRecord) => void): Promise<void> {
    for (const record of this.#log.records) apply(record);
    this.#listener = apply;
    this.#log.listeners.add(apply);
  }

  async append(record: StoreRecord): Promise<void> {
    this.#log.records.push(record);
    for (const listener of this.#log.listeners) listener(record);
  }

  isCaughtUp(): boolean {
    return this.#listener !== undefined;
  }

  async close(): Promise<void> {
    if (this.#listener !== undefined) this.#log.listeners.delete(this.#listener);
    this.#listener = undefined;
  }
}
