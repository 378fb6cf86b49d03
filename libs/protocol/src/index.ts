/**
 * @chatmesh/protocol: the rules every part agrees on: chat and message limits, id formats, the id of a
 * direct chat, the client protocol's frames (strict schemas for what clients send, types and schemas for
 * what the gateway sends), the WebSocket close codes, and `parseClientFrame`.
 */
export { CHAT_LIMITS, ID_PATTERN, isValidId, MAX_CLIENT_RETRY_AGE_MS, utf8ByteLength } from './chat-limits.js';
export { directChatId, isDirectChatId, DIRECT_CHAT_PREFIX } from './direct-chat-id.js';
export * from './client-frames.js';
export * from './server-frames.js';
export { CLOSE_CODES, closeCodeEntry, type CloseCodeEntry, type CloseCodeName } from './close-codes.js';
export { parseClientFrame, ProtocolError } from './parse-client-frame.js';
export { CLIENT_FRAME_SUMMARIES, SERVER_FRAME_SUMMARIES } from './frame-docs.js';
