import type { ChatStore } from '@chatmesh/store';
import { BoundedLruMap } from '@chatmesh/lru';

/** Chats whose kind is remembered; a chat's kind never changes, so the cache needs no invalidation. */
const MAX_CACHED_CHATS = 50_000;

/** Remembers whether a chat is direct or a group (bounded, oldest forgotten first). */
export function createChatKinds(store: ChatStore): (chatId: string) => Promise<'direct' | 'group'> {
  const kinds = new BoundedLruMap<string, 'direct' | 'group'>(MAX_CACHED_CHATS);
  return async (chatId) => {
    const known = kinds.peek(chatId);
    if (known) return known;
    const chat = await store.directory.getChat(chatId);
    // A chat with members but no metadata row yet is treated as a group (per-member and aggregate updates).
    const kind = chat?.kind ?? 'group';
    if (chat) {
      kinds.set(chatId, kind);
    }
    return kind;
  };
}
