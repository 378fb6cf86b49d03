import type { ClientFrame } from '@chatmesh/protocol';

/** Commands that go through the outbox: each is answered by an `ack` or a `reject` with its `requestId`. */
export type OutboxCommand = Extract<
  ClientFrame,
  { type: 'send' | 'createChat' | 'updateChat' | 'addMembers' | 'removeMembers' | 'leaveChat' }
>;

/** One command waiting for its answer. Re-sent unchanged (same `requestId`, same `clientMessageId`). */
export interface OutboxEntry {
  readonly requestId: string;
  readonly command: OutboxCommand;
  /** When the application enqueued it, in epoch milliseconds. */
  readonly enqueuedAtMs: number;
}

/**
 * Where unanswered commands are kept, so they survive reconnects and (with a durable implementation)
 * restarts: a new client with the same storage sends them again, with the same ids, and the server's
 * dedupe by `clientMessageId` makes that safe.
 */
export interface OutboxStorage {
  /** Every stored entry, oldest first. */
  load(): Promise<readonly OutboxEntry[]>;
  /** Stores (or replaces) an entry. */
  put(entry: OutboxEntry): Promise<void>;
  /** Drops an answered entry; unknown ids are ignored. */
  remove(requestId: string): Promise<void>;
}

/** An outbox in memory: survives reconnects, not restarts. The default. */
export function createMemoryOutboxStorage(): OutboxStorage {
  const entries = new Map<string, OutboxEntry>();
  return {
    load: () => Promise.resolve([...entries.values()]),
    put: (entry) => {
      entries.set(entry.requestId, entry);
      return Promise.resolve();
    },
    remove: (requestId) => {
      entries.delete(requestId);
      return Promise.resolve();
    },
  };
}

/** The part of the Web Storage API the localStorage outbox uses. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Options of {@link createLocalStorageOutboxStorage}. */
export interface LocalStorageOutboxOptions {
  /** The key holding the outbox; use one per user and device. @default 'chatmesh.outbox' */
  key?: string;
  /** The storage. @default globalThis.localStorage */
  storage?: StorageLike;
}

/**
 * An outbox in the browser's `localStorage` (one JSON array under one key): unsent messages survive
 * a page reload. Entries that cannot be parsed are dropped rather than blocking the outbox.
 */
export function createLocalStorageOutboxStorage(options: LocalStorageOutboxOptions = {}): OutboxStorage {
  const key = options.key ?? 'chatmesh.outbox';
  const storage = options.storage ?? (globalThis as { localStorage?: StorageLike }).localStorage;
  if (storage === undefined) return createMemoryOutboxStorage();
  const read = (): OutboxEntry[] => {
    try {
      const value: unknown = JSON.parse(storage.getItem(key) ?? '[]');
      return Array.isArray(value) ? (value as OutboxEntry[]) : [];
    } catch {
      return [];
    }
  };
  const write = (entries: OutboxEntry[]): void => {
    if (entries.length === 0) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(entries));
  };
  return {
    load: () => Promise.resolve(read()),
    put: (entry) => {
      const entries = read().filter((e) => e.requestId !== entry.requestId);
      entries.push(entry);
      write(entries);
      return Promise.resolve();
    },
    remove: (requestId) => {
      write(read().filter((e) => e.requestId !== requestId));
      return Promise.resolve();
    },
  };
}
