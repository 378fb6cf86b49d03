import type { ChatRecord, ChatStore } from '@chatmesh/store';

/** What ingest knows about a chat while it owns the chat's partition. */
export interface ChatState {
  readonly chat: ChatRecord;
  /** Current members and their roles. */
  readonly members: ReadonlyMap<string, 'admin' | 'member'>;
}

/**
 * Caches each chat's metadata and members for its single writer. Ingest is the only writer of a chat, so
 * the cache is exact while it owns the partition; it is checked against the stream's head hint, which any
 * other writer (the next owner after a rebalance) raises, so a partition that comes back finds its cache
 * stale and reloads. Bounded: least recently used chats are dropped past `maxChats`.
 */
export class ChatStateCache {
  readonly #store: ChatStore;
  readonly #maxChats: number;
  readonly #entries = new Map<string, { state: ChatState | null; headSeq: number }>();

  constructor(store: ChatStore, maxChats = 50_000) {
    this.#store = store;
    this.#maxChats = maxChats;
  }

  /** The chat's state, or null when it does not exist. */
  async get(chatId: string): Promise<ChatState | null> {
    const headSeq = await this.#store.chatLog.getHead(chatId);
    const cached = this.#entries.get(chatId);
    if (cached && cached.headSeq === headSeq) {
      this.#entries.delete(chatId);
      this.#entries.set(chatId, cached);
      return cached.state;
    }
    return this.#load(chatId, headSeq);
  }

  /** Records that this writer appended `seq` without changing the chat's metadata or members. */
  advance(chatId: string, seq: number): void {
    const cached = this.#entries.get(chatId);
    if (cached && seq > cached.headSeq) cached.headSeq = seq;
  }

  /** Reloads after a lifecycle event changed the chat's metadata or members. */
  async reload(chatId: string): Promise<ChatState | null> {
    return this.#load(chatId, await this.#store.chatLog.getHead(chatId));
  }

  async #load(chatId: string, headSeq: number): Promise<ChatState | null> {
    const chat = await this.#store.directory.getChat(chatId);
    const state: ChatState | null = chat
      ? {
          chat,
          members: new Map((await this.#store.directory.currentMembers(chatId)).map((m) => [m.userId, m.role])),
        }
      : null;
    this.#entries.delete(chatId);
    this.#entries.set(chatId, { state, headSeq });
    if (this.#entries.size > this.#maxChats) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return state;
  }
}
