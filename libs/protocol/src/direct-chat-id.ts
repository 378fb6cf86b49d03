import { createHash } from 'node:crypto';

/** Prefix of direct (1:1) chat ids; group ids may not start with it. */
export const DIRECT_CHAT_PREFIX = 'dm:';

/**
 * The id of the direct chat between two users, the same whichever of them asks, so a 1:1 chat cannot be
 * created twice: ingest refuses a direct chat whose id is not this. A hash, so ids of any length fit and
 * the id does not reveal who talks to whom in logs.
 */
export function directChatId(userA: string, userB: string): string {
  const [low, high] = userA < userB ? [userA, userB] : [userB, userA];
  const digest = createHash('sha256').update(`${low.length}:${low}${high}`).digest('base64url').slice(0, 32);
  return `${DIRECT_CHAT_PREFIX}${digest}`;
}

/** Whether a chat id names a direct chat. */
export function isDirectChatId(chatId: string): boolean {
  return chatId.startsWith(DIRECT_CHAT_PREFIX);
}
