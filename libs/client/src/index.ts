/**
 * @chatmesh/client: the typed chatmesh SDK for Node and browsers. {@link createChatClient} connects to a
 * delivery gateway (protocol 3, docs/protocol.md), reconnects with backoff and full jitter, resumes from
 * the device's cursor and its positions in broadcast chats, sends through an outbox that survives
 * reconnects, hands each chat frame (from the inbox or a broadcast chat) to the application once and in
 * per-chat order (filling gaps with `sync`, and catching up from the chat history after a `syncGap`), and emits
 * typed events.
 */
export {
  createChatClient,
  type AcceptedChange,
  type DeviceInfo,
  type PushChannelRegistration,
  type PushWakeUp,
  type UserSettings,
  type ChatClient,
  type ChatClientEvents,
  type ClientState,
  type CommandAck,
  type DirectChatResult,
  type DisconnectedEvent,
  type GapEvent,
  type MessageContent,
} from './chat-client.js';
export {
  compileClientOptions,
  toWebSocketUrl,
  toHttpUrl,
  CLIENT_DEFAULTS,
  type ChatClientOptions,
  type CompiledClientOptions,
  type TokenProvider,
  type TokenRequestReason,
} from './client-options.js';
export { type HistoryGapEvent } from './history-resync.js';
export { MessageStatusTracker, type MessageStatus, type MessageStatusEvent } from './message-status.js';
export { ChatSequencer, type ChatGap, type ChatPosition, type SequencerResult } from './chat-sequencer.js';
export { ClientError, type ClientErrorContext } from './errors.js';
export {
  createMemoryOutboxStorage,
  createLocalStorageOutboxStorage,
  type LocalStorageOutboxOptions,
  type OutboxCommand,
  type OutboxEntry,
  type OutboxStorage,
  type StorageLike,
} from './outbox-storage.js';
export {
  resolveWebSocketFactory,
  type WebSocketFactory,
  type WebSocketLike,
  type WebSocketCloseEventLike,
} from './websocket.js';
