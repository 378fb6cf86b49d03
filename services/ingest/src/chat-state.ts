import type { ChatRecord, ChatStore } from '@chatmesh/store';
import { BoundedLruMap } from '@chatmesh/lru';

/** What ingest knows about a chat while it owns the chat's partition. */
export interface ChatState {
  readonly chat: ChatRecord;
  /** Current members and their roles. */
  readonly members: ReadonlyMap<string, 'admin' | 'member'>;
}

/**
 * Caches each chat's metadata and members for its single writer. Ingest is the only writer of a chat, and it
 * writes a chat only under the writer epoch of the ownership of the chat's partition, so an entry loaded under
 * an epoch stays exact for as long as that epoch is the one writing: a partition that comes back (after
 * another owner may have changed its chats) has a new epoch, and its chats reload. Validating by epoch instead
 * of reading the log's head hint saves a Cassandra read per command (the hint is only raised now and then,
 * so checking against it also reloaded the chat and its members after most appends).
 * Bounded: least recently used chats are dropped past `maxChats`.
 */
export class ChatStateCache {
  readonly #store: ChatStore;
  readonly #entries: BoundedLruMap<string, { state: ChatState | null; epoch: number }>;

  constructor(store: ChatStore, maxChats = 50_000) {
    this.#store = store;
    this.#entries = new BoundedLruMap(maxChats);
  }

  /** The chat's state as the writer of `epoch` sees it, or null when the chat does not exist. */
  async get(chatId: string, epoch: number): Promise<ChatState | null> {
    const cached = this.#entries.get(chatId);
    if (cached && cached.epoch === epoch) return cached.state;
    return this.reload(chatId, epoch);
  }

  /** Reloads after a lifecycle event changed the chat's metadata or members. */
  async reload(chatId: string, epoch: number): Promise<ChatState | null> {
    const chat = await this.#store.directory.getChat(chatId);
    const state: ChatState | null = chat
      ? {
          chat,
          members: new Map((await this.#store.directory.currentMembers(chatId)).map((m) => [m.userId, m.role])),
        }
      : null;
    this.#entries.set(chatId, { state, epoch });
    return state;
  }
}
