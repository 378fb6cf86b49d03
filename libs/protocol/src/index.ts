/**
 * @chatmesh/protocol: the rules every part agrees on: chat and message limits, id formats, and the id
 * of a direct chat.
 */
export { CHAT_LIMITS, ID_PATTERN, isValidId } from './chat-limits.js';
export { directChatId, isDirectChatId, DIRECT_CHAT_PREFIX } from './direct-chat-id.js';
