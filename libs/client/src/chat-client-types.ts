import type { AckResultFrame, ClientFrame, RejectFrame, ServerFrame } from '@chatmesh/protocol';
import type { ChatGap } from './chat-sequencer.js';
import type { ClientError } from './errors.js';
import type { HistoryGapEvent } from './history-resync.js';
import type { AcceptedChange, DeviceInfo, PushChannelRegistration, PushWakeUp, UserSettings } from './http-api.js';
import type { MessageStatus, MessageStatusEvent } from './message-status.js';

/** The server frame of type `T`. */
export type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

/** Why and how a connection ended. */
export interface DisconnectedEvent {
  /** The WebSocket close code (1006 when the socket died without one; 4000 when the client dropped it). */
  readonly code: number;
  readonly reason: string;
  /** Whether the client will reconnect by itself. */
  readonly willReconnect: boolean;
  /** The delay before the next attempt, when it will. */
  readonly retryInMs: number | undefined;
}

/**
 * A gap the client is filling: it holds the chat's later frames meanwhile. For an inbox chat it sent
 * `sync` at once; for a broadcast chat it sends `sync` with the chat's position if the gap is still
 * open after `gapTimeoutMs`.
 */
export type GapEvent = ChatGap;

/** Every event of a {@link ChatClient} and its payload (the protocol's frame types). */
export interface ChatClientEvents {
  messageReceived: FrameOf<'messageReceived'>;
  newAttachment: FrameOf<'newAttachment'>;
  chatCreated: FrameOf<'chatCreated'>;
  chatUpdated: FrameOf<'chatUpdated'>;
  membersAdded: FrameOf<'membersAdded'>;
  membersRemoved: FrameOf<'membersRemoved'>;
  receipt: FrameOf<'receipt'>;
  /**
   * One of this user's own messages changed state (ticks): 'sent' at its ack, then 'delivered' and
   * 'read' from receipts (forward only); with `byUserId` for one member of a group, null for the message.
   */
  status: MessageStatusEvent;
  /** Another device of this user (or this one) read a chat up to `upToSeq`: clear its unread state. */
  readPointer: FrameOf<'readPointer'>;
  typing: FrameOf<'typing'>;
  presence: FrameOf<'presence'>;
  /** A contact's (or this user's other) device has a new identity key: its safety number changed. */
  identityKeyChanged: FrameOf<'identityKeyChanged'>;
  /** The `hello` of each new connection. */
  connected: FrameOf<'hello'>;
  disconnected: DisconnectedEvent;
  /** The replay after the cursor is complete: what follows is live. */
  syncDone: FrameOf<'syncDone'>;
  /** A command was accepted (including commands restored from storage, which have no promise). */
  ack: AckResultFrame;
  /** A command was refused (retriable refusals are retried by the client). */
  reject: RejectFrame;
  /** A chat's seq jumped: the client holds later frames until the gap fills (see {@link GapEvent}). */
  gap: GapEvent;
  /**
   * Inbox entries expired before this device read them (it was away longer than the server keeps them): the client
   * catches up from each chat's history, holding later frames until it has, then emits `syncDone`.
   */
  syncGap: FrameOf<'syncGap'>;
  /** Part of a chat's history the server no longer keeps: those messages will never be shown (say so in the chat). */
  historyGap: HistoryGapEvent;
  error: ClientError;
}

/** The content of a message: a plaintext body or per-device ciphertext envelopes, and attachments. */
export type MessageContent = Pick<Extract<ClientFrame, { type: 'send' }>, 'body' | 'envelopes' | 'attachments'>;

/** The answer to `send` and the chat commands. */
export type CommandAck = AckResultFrame;

/** The answer to {@link ChatClient.createDirectChat}. */
export interface DirectChatResult {
  readonly chatId: string;
  /** The chat's seq of its creation, or null when it existed already. */
  readonly seq: number | null;
  readonly alreadyExisted: boolean;
}

/** Connection states, in the order a healthy client goes through them. */
export type ClientState = 'idle' | 'connecting' | 'live' | 'waiting' | 'closed';

/** The typed chatmesh SDK; create it with {@link createChatClient}. */
export interface ChatClient {
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof ChatClientEvents>(event: K, handler: (payload: ChatClientEvents[K]) => void): () => void;
  off<K extends keyof ChatClientEvents>(event: K, handler: (payload: ChatClientEvents[K]) => void): void;
  /** Starts connecting (only needed with `autoConnect: false`). */
  connect(): void;
  /** Resolves with the next `hello` (at once with the current one when connected). */
  connected(): Promise<FrameOf<'hello'>>;
  /** The user id from the last `hello`, if any. */
  readonly userId: string | undefined;
  readonly state: ClientState;
  /**
   * Inbox position up to which frames were handed to the application (what is acked as `upToInboxSeq`).
   * Frames of broadcast chats have no inbox position: they are acked per chat (`ack.chats`).
   */
  readonly cursor: number;
  /**
   * Sends a message through the outbox: resolves with the server's `ack` (the chat seq), survives
   * reconnects (re-sent with the same `clientMessageId`, which the server dedupes).
   * @throws ClientError `CM_ERR_CLIENT_COMMAND_REJECTED` (see `serverCode`), `CM_ERR_CLIENT_RETRIES_EXHAUSTED`,
   *   `CM_ERR_CLIENT_CLOSED`.
   */
  send(chatId: string, content: MessageContent, options?: { clientMessageId?: string }): Promise<CommandAck>;
  /** Creates (or finds) the direct chat with another user; its id is `directChatId(me, other)`. */
  createDirectChat(otherUserId: string): Promise<DirectChatResult>;
  /** Creates a group with a new unique id; the creator is its admin. Resolves with the ack (its `chatId`). */
  createGroup(name: string, memberUserIds: readonly string[]): Promise<CommandAck>;
  /** Renames a group or changes its picture (admins). */
  updateChat(
    chatId: string,
    changes: { name?: string; pictureAttachmentId?: string; clearPicture?: boolean },
  ): Promise<CommandAck>;
  addMembers(chatId: string, userIds: readonly string[]): Promise<CommandAck>;
  removeMembers(chatId: string, userIds: readonly string[]): Promise<CommandAck>;
  leave(chatId: string): Promise<CommandAck>;
  /** Marks a chat read up to a seq (read receipts); kept and sent when connected. */
  markRead(chatId: string, upToSeq: number): void;
  /**
   * Typing indicator. Call it with true on every keystroke: at most one `typing: true` goes out per
   * `typingRefreshMs` (3 s) while typing, and `typing: false` once on stop (only after a true).
   * Dropped when not connected (it expires anyway).
   */
  setTyping(chatId: string, typing: boolean): void;
  /**
   * The status of one of the user's own messages, if this client saw it sent (its ack or its echo);
   * with `byUserId`, that group member's progress.
   */
  messageStatus(chatId: string, seq: number, byUserId?: string): MessageStatus | undefined;
  /** `GET /v1/settings`. @throws ClientError `CM_ERR_CLIENT_HTTP_FAILED` (see `serverCode`). */
  getSettings(): Promise<UserSettings>;
  /** `PUT /v1/settings`: applied by the server shortly after it answers. @throws ClientError `CM_ERR_CLIENT_HTTP_FAILED`. */
  updateSettings(changes: Partial<UserSettings>): Promise<AcceptedChange>;
  /** `GET /v1/devices`: the account's devices (removed ones are not listed). @throws ClientError `CM_ERR_CLIENT_HTTP_FAILED`. */
  listDevices(): Promise<DeviceInfo[]>;
  /**
   * `DELETE /v1/devices/<id>`: its sessions end (close 4011) and it may not connect again under that id.
   * @throws ClientError `CM_ERR_CLIENT_HTTP_FAILED` (`serverCode` CM_ERR_DEVICE_UNKNOWN when not listed).
   */
  removeDevice(deviceId: string): Promise<AcceptedChange>;
  /**
   * `PUT /v1/push/channel`: this device's wake-ups go to `channel` from now on (applied by the push service shortly
   * after the answer). @throws ClientError `CM_ERR_CLIENT_HTTP_FAILED` (`serverCode` CM_ERR_GATEWAY_BAD_REQUEST for a
   * malformed channel, CM_ERR_DEVICE_REMOVED for a removed device).
   */
  registerPushChannel(channel: PushChannelRegistration): Promise<AcceptedChange>;
  /** `DELETE /v1/push/channel`: no more wake-ups for this device. @throws ClientError `CM_ERR_CLIENT_HTTP_FAILED`. */
  unregisterPushChannel(): Promise<AcceptedChange>;
  /** `GET /v1/push/inbox`: the user's latest wake-ups recorded by the local push inbox, newest first. */
  listPushWakeUps(limit?: number): Promise<PushWakeUp[]>;
  /** Follows these users' presence (replaces the previous set); re-sent after every reconnect. */
  subscribePresence(userIds: readonly string[]): void;
  /** Number of commands waiting for an answer. */
  readonly pendingCommands: number;
  /** Closes for good: flushes the ack, rejects pending promises (`CM_ERR_CLIENT_CLOSED`; storage keeps them). */
  close(): Promise<void>;
}
