import type { ChatDirectoryStore } from '@chatmesh/store';
import { BoundedLruMap } from '@chatmesh/lru';

interface Cached<T> {
  readonly value: Promise<T>;
  readonly expiresAtMs: number;
}

/** A small expiring cache that shares one in-flight read per key and forgets its oldest keys past `maxKeys`. */
class ExpiringCache<T> {
  private readonly entries: BoundedLruMap<string, Cached<T>>;

  constructor(
    private readonly ttlMs: number,
    maxKeys: number,
    private readonly clock: () => number,
  ) {
    this.entries = new BoundedLruMap(maxKeys);
  }

  get(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs === 0) return load();
    const nowMs = this.clock();
    // A hit does not count as a use: an entry is forgotten by age of its read, not of its last hit.
    const cached = this.entries.peek(key);
    if (cached && cached.expiresAtMs > nowMs) return cached.value;
    const value = load();
    this.entries.set(key, { value, expiresAtMs: nowMs + this.ttlMs });
    // A failed read must not be served from the cache.
    value.catch(() => {
      if (this.entries.peek(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}

/**
 * Who may see whom, from the chat directory (which ingest writes): a user's current chats and a chat's
 * current members, each reused for `ttlMs` (0: read every time). Presence honours a subscription, and
 * sends a notice, only between users who share a current chat; typing goes only to a chat's current members.
 */
export class MembershipView {
  private readonly chats: ExpiringCache<ReadonlySet<string>>;
  private readonly members: ExpiringCache<readonly string[]>;

  constructor(
    private readonly directory: ChatDirectoryStore,
    options: { ttlMs: number; clock?: () => number; maxKeys?: number },
  ) {
    const clock = options.clock ?? Date.now;
    this.chats = new ExpiringCache(options.ttlMs, options.maxKeys ?? 100_000, clock);
    this.members = new ExpiringCache(options.ttlMs, options.maxKeys ?? 100_000, clock);
  }

  /** The chats the user is currently a member of. */
  chatsOf(userId: string): Promise<ReadonlySet<string>> {
    return this.chats.get(userId, async () => new Set((await this.directory.chatsOfUser(userId)).map((c) => c.chatId)));
  }

  /** The chat's current members. */
  membersOf(chatId: string): Promise<readonly string[]> {
    return this.members.get(chatId, async () => (await this.directory.currentMembers(chatId)).map((m) => m.userId));
  }

  /** Whether two different users are both current members of at least one chat. */
  async shareChat(a: string, b: string): Promise<boolean> {
    if (a === b) return false;
    const [ofA, ofB] = await Promise.all([this.chatsOf(a), this.chatsOf(b)]);
    const [small, large] = ofA.size <= ofB.size ? [ofA, ofB] : [ofB, ofA];
    for (const chatId of small) if (large.has(chatId)) return true;
    return false;
  }
}
