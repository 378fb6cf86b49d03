import { ChatmeshError } from '@chatmesh/errors';

/**
 * A map that keeps at most `maxEntries` entries and forgets the least recently used one when a new key would
 * exceed the bound. `get` and `set` count as a use; `peek` and `has` do not. Built on `Map`'s insertion order:
 * a use moves the key to the end, so the first key is always the least recently used.
 */
export class BoundedLruMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #maxEntries: number;

  /** @throws ChatmeshError CM_ERR_COMMON_INVALID_ARGUMENT when `maxEntries` is not a positive integer. */
  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new ChatmeshError(
        'CM_ERR_COMMON_INVALID_ARGUMENT',
        `a bounded LRU map needs a positive integer bound, not ${maxEntries}`,
        { context: { maxEntries } },
      );
    }
    this.#maxEntries = maxEntries;
  }

  /** The bound. */
  get maxEntries(): number {
    return this.#maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value of `key`, marked as just used; undefined when absent. */
  get(key: K): V | undefined {
    if (!this.#entries.has(key)) return undefined;
    const value = this.#entries.get(key) as V;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** The value of `key` without marking it used. */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Sets `key` as the most recently used entry, forgetting the least recently used one beyond the bound. */
  set(key: K, value: V): this {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Keys from least to most recently used. */
  keys(): IterableIterator<K> {
    return this.#entries.keys();
  }

  /** Entries from least to most recently used. */
  entries(): IterableIterator<[K, V]> {
    return this.#entries.entries();
  }
}
