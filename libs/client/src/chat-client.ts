import { computeRetryDelayMs } from '@chatmesh/errors';
import {
  CHAT_LIMITS,
  closeCodeEntry,
  CLOSE_CODES,
  directChatId,
  serverFrameSchema,
  type AckResultFrame,
  type ChatFrame,
  type ClientFrame,
  type RejectFrame,
  type ServerFrame,
} from '@chatmesh/protocol';
import { ChatSequencer, type ChatGap } from './chat-sequencer.js';
import { resyncFromHistory, type HistoryGapEvent } from './history-resync.js';
import { compileClientOptions, type ChatClientOptions, type CompiledClientOptions } from './client-options.js';
import { ClientError } from './errors.js';
import { newId } from './internal/ids.js';
import { TypedEmitter } from './internal/typed-emitter.js';
import { MessageStatusTracker, type MessageStatus, type MessageStatusEvent } from './message-status.js';
import type { OutboxCommand, OutboxEntry } from './outbox-storage.js';
import { WEBSOCKET_OPEN, type WebSocketLike } from './websocket.js';

type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

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

/** The user's privacy settings (`GET /v1/settings`). */
export interface UserSettings {
  /** False: no READ status goes to anyone for this user's reads, and they see none for their messages. */
  readonly readReceipts: boolean;
  /** False: everybody sees this user offline with no last seen. */
  readonly presenceVisible: boolean;
}

/** One of the user's devices (`GET /v1/devices`). */
export interface DeviceInfo {
  readonly deviceId: string;
  readonly registeredAtMs: number;
  readonly online: boolean;
  /** The device this client runs as. */
  readonly current: boolean;
}

/** A change the server accepted (HTTP 202) and applies shortly after. */
export interface AcceptedChange {
  readonly requestId: string;
}

/**
 * Where this device's wake-up pushes go (`PUT /v1/push/channel`): an FCM registration token, an APNs device token
 * (hex) with the app's bundle id and environment, a browser's Web Push subscription (`PushSubscription.toJSON()`),
 * or the local push inbox of embedded mode. Registering again replaces the device's channel (a refreshed token).
 */
export type PushChannelRegistration =
  | { readonly provider: 'fcm'; readonly token: string }
  | {
      readonly provider: 'apns';
      readonly token: string;
      readonly topic: string;
      readonly environment: 'sandbox' | 'production';
    }
  | {
      readonly provider: 'web_push';
      readonly subscription: {
        readonly endpoint: string;
        readonly expirationTime?: number | null;
        readonly keys: { readonly p256dh: string; readonly auth: string };
      };
    }
  | { readonly provider: 'inbox' };

/** One wake-up the local push inbox recorded (`GET /v1/push/inbox`): no content, the chat and the badge. */
export interface PushWakeUp {
  readonly deviceId: string;
  readonly chatId: string | null;
  readonly badge: number;
  readonly atMs: number;
  readonly requestId: string;
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

interface PendingCommand {
  /** Replaced when a send's predecessor is refused for good (it then names the one before). */
  entry: OutboxEntry;
  attempts: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** A send refused as out of order waits for this earlier send of the chat to be answered. */
  waitingFor?: string | undefined;
  readonly resolve: (ack: AckResultFrame) => void;
  readonly reject: (error: ClientError) => void;
}

/** Frames held while a `syncGap` resync runs: everything that occupies an inbox position or ends the replay. */
const HELD_DURING_RESYNC: ReadonlySet<ServerFrame['type']> = new Set([
  'messageReceived',
  'newAttachment',
  'chatCreated',
  'chatUpdated',
  'membersAdded',
  'membersRemoved',
  'receipt',
  'readPointer',
  'syncDone',
  'syncGap',
]);

/** A close code the client uses for sockets it drops itself (timeouts, dead connections, reconnect hints). */
const CLIENT_DROPPED_CODE = 4000;

/**
 * Creates a chat client and (by default) connects it.
 * @throws ClientError `CM_ERR_CLIENT_INVALID_OPTIONS`, `CM_ERR_CLIENT_NO_WEBSOCKET`.
 */
export function createChatClient(options: ChatClientOptions): ChatClient {
  const client = new ChatClientImpl(compileClientOptions(options));
  if (client.options.autoConnect) client.connect();
  return client;
}

class ChatClientImpl implements ChatClient {
  private readonly events = new TypedEmitter<ChatClientEvents>();
  private readonly sequencer = new ChatSequencer();
  private readonly pending = new Map<string, PendingCommand>();
  /**
   * Per chat, this client's newest send not acknowledged yet: the next send names it (`afterClientMessageId`), so
   * the server stores a sender's messages in the order they were sent, whatever is refused, lost or re-sent.
   */
  private readonly unackedSends = new Map<string, string>();
  private readonly unsentReads = new Map<string, number>();
  private readonly statuses = new MessageStatusTracker();
  /** Chats with a `typing: true` out, and when it was sent. */
  private readonly typingSentAtMs = new Map<string, number>();
  private presenceUserIds: readonly string[] = [];
  private socket: WebSocketLike | undefined;
  private hello: FrameOf<'hello'> | undefined;
  private stateValue: ClientState = 'idle';
  private reconnectAttempt = 0;
  private connectGeneration = 0;
  private nextTokenReason: 'connect' | 'reconnect' | 'authExpired' = 'connect';
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private heardSincePing = true;
  private hintTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectAtMs: number | undefined;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private lastAckSent = 0;
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Broadcast chats whose gap timer sent a `sync` for the current gap: the next expiry releases. */
  private readonly gapsSynced = new Set<string>();
  private readonly helloWaiters: Array<{
    resolve: (hello: FrameOf<'hello'>) => void;
    reject: (error: ClientError) => void;
  }> = [];
  private restored: Promise<void> | undefined;
  /** While a `syncGap` resync fetches history: the frames that came after it, handled once it is done. */
  private resync: { readonly held: ServerFrame[] } | undefined;

  constructor(readonly options: CompiledClientOptions) {}

  get userId(): string | undefined {
    return this.hello?.userId;
  }

  get state(): ClientState {
    return this.stateValue;
  }

  get cursor(): number {
    return this.sequencer.cursor;
  }

  get pendingCommands(): number {
    return this.pending.size;
  }

  on<K extends keyof ChatClientEvents>(event: K, handler: (payload: ChatClientEvents[K]) => void): () => void {
    return this.events.on(event, handler);
  }

  off<K extends keyof ChatClientEvents>(event: K, handler: (payload: ChatClientEvents[K]) => void): void {
    this.events.off(event, handler);
  }

  connect(): void {
    if (this.stateValue !== 'idle') return;
    this.stateValue = 'connecting';
    this.restored ??= this.restoreOutbox();
    void this.restored.then(() => this.openSocket());
  }

  connected(): Promise<FrameOf<'hello'>> {
    if (this.stateValue === 'live' && this.hello) return Promise.resolve(this.hello);
    if (this.stateValue === 'closed') return Promise.reject(new ClientError('CM_ERR_CLIENT_CLOSED'));
    return new Promise((resolve, reject) => this.helloWaiters.push({ resolve, reject }));
  }

  // ---- commands through the outbox ----

  send(chatId: string, content: MessageContent, options: { clientMessageId?: string } = {}): Promise<CommandAck> {
    const requestId = newId();
    const clientMessageId = options.clientMessageId ?? requestId;
    const after = this.unackedSends.get(chatId);
    this.unackedSends.set(chatId, clientMessageId);
    return this.enqueue({
      type: 'send',
      requestId,
      chatId,
      clientMessageId,
      ...(after !== undefined && after !== clientMessageId ? { afterClientMessageId: after } : {}),
      ...(content.body !== undefined ? { body: content.body } : {}),
      ...(content.envelopes !== undefined ? { envelopes: content.envelopes } : {}),
      ...(content.attachments !== undefined ? { attachments: content.attachments } : {}),
    });
  }

  async createDirectChat(otherUserId: string): Promise<DirectChatResult> {
    const me = this.userId ?? (await this.connected()).userId;
    const chatId = directChatId(me, otherUserId);
    try {
      const ack = await this.enqueue({
        type: 'createChat',
        requestId: newId(),
        chatId,
        kind: 'direct',
        members: [otherUserId],
      });
      return { chatId, seq: ack.seq, alreadyExisted: false };
    } catch (error) {
      // A direct chat has one id per pair, so "already exists" means the caller has what it asked for.
      if (error instanceof ClientError && error.serverCode === 'CM_ERR_CHAT_ALREADY_EXISTS') {
        return { chatId, seq: null, alreadyExisted: true };
      }
      throw error;
    }
  }

  createGroup(name: string, memberUserIds: readonly string[]): Promise<CommandAck> {
    return this.enqueue({
      type: 'createChat',
      requestId: newId(),
      chatId: newId(),
      kind: 'group',
      members: [...memberUserIds],
      name,
    });
  }

  updateChat(
    chatId: string,
    changes: { name?: string; pictureAttachmentId?: string; clearPicture?: boolean },
  ): Promise<CommandAck> {
    return this.enqueue({ type: 'updateChat', requestId: newId(), chatId, ...changes });
  }

  addMembers(chatId: string, userIds: readonly string[]): Promise<CommandAck> {
    return this.enqueue({ type: 'addMembers', requestId: newId(), chatId, userIds: [...userIds] });
  }

  removeMembers(chatId: string, userIds: readonly string[]): Promise<CommandAck> {
    return this.enqueue({ type: 'removeMembers', requestId: newId(), chatId, userIds: [...userIds] });
  }

  leave(chatId: string): Promise<CommandAck> {
    return this.enqueue({ type: 'leaveChat', requestId: newId(), chatId });
  }

  // ---- fire-and-forget frames ----

  markRead(chatId: string, upToSeq: number): void {
    this.unsentReads.set(chatId, Math.max(upToSeq, this.unsentReads.get(chatId) ?? 0));
    if (this.stateValue === 'live') this.flushReads();
  }

  setTyping(chatId: string, typing: boolean): void {
    if (this.stateValue !== 'live') return;
    const sentAtMs = this.typingSentAtMs.get(chatId);
    if (typing) {
      const now = this.options.now();
      if (sentAtMs !== undefined && now - sentAtMs < this.options.typingRefreshMs) return;
      if (this.transmit({ type: 'typing', chatId, typing: true })) this.typingSentAtMs.set(chatId, now);
      return;
    }
    if (sentAtMs === undefined) return;
    this.typingSentAtMs.delete(chatId);
    this.transmit({ type: 'typing', chatId, typing: false });
  }

  messageStatus(chatId: string, seq: number, byUserId?: string): MessageStatus | undefined {
    return this.statuses.status(chatId, seq, byUserId);
  }

  // ---- HTTP API (settings, devices) ----

  getSettings(): Promise<UserSettings> {
    return this.api<UserSettings>('GET', '/v1/settings');
  }

  updateSettings(changes: Partial<UserSettings>): Promise<AcceptedChange> {
    return this.api<AcceptedChange>('PUT', '/v1/settings', changes);
  }

  async listDevices(): Promise<DeviceInfo[]> {
    return (await this.api<{ devices: DeviceInfo[] }>('GET', '/v1/devices')).devices;
  }

  removeDevice(deviceId: string): Promise<AcceptedChange> {
    return this.api<AcceptedChange>('DELETE', `/v1/devices/${encodeURIComponent(deviceId)}`);
  }

  registerPushChannel(channel: PushChannelRegistration): Promise<AcceptedChange> {
    return this.api<AcceptedChange>('PUT', '/v1/push/channel', channel);
  }

  unregisterPushChannel(): Promise<AcceptedChange> {
    return this.api<AcceptedChange>('DELETE', '/v1/push/channel');
  }

  async listPushWakeUps(limit = 50): Promise<PushWakeUp[]> {
    return (await this.api<{ wakeUps: PushWakeUp[] }>('GET', `/v1/push/inbox?limit=${limit}`)).wakeUps;
  }

  private async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const fetchImpl = this.options.fetch;
    const fail = (message: string, context: Record<string, unknown> = {}, cause?: unknown): ClientError =>
      new ClientError('CM_ERR_CLIENT_HTTP_FAILED', `${method} ${path}: ${message}`, {
        context: { path, ...context },
        ...(cause === undefined ? {} : { cause }),
      });
    if (fetchImpl === undefined) throw fail('no fetch implementation (pass the `fetch` option)');
    let token: string;
    try {
      token = await this.options.tokenProvider({ reason: 'api', deviceId: this.options.deviceId });
    } catch (cause) {
      throw new ClientError('CM_ERR_CLIENT_TOKEN_FAILED', undefined, { cause });
    }
    let response: Response;
    try {
      response = await fetchImpl(`${this.options.httpUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw fail('the request failed', {}, cause);
    }
    const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const code = typeof parsed['code'] === 'string' ? parsed['code'] : undefined;
      throw fail(`HTTP ${response.status} ${code ?? ''}: ${String(parsed['message'] ?? '')}`, {
        status: response.status,
        ...(code === undefined ? {} : { serverCode: code }),
      });
    }
    return parsed as T;
  }

  subscribePresence(userIds: readonly string[]): void {
    this.presenceUserIds = [...new Set(userIds)];
    if (this.stateValue === 'live') this.transmit({ type: 'presenceSubscribe', userIds: [...this.presenceUserIds] });
  }

  async close(): Promise<void> {
    if (this.stateValue === 'closed') return;
    if (this.stateValue === 'live') this.flushAck();
    this.finish({ code: CLOSE_CODES.NORMAL.code, reason: 'closed by the client' });
    await Promise.resolve();
  }

  // ---- connection lifecycle ----

  private async restoreOutbox(): Promise<void> {
    let entries: readonly OutboxEntry[] = [];
    try {
      entries = await this.options.storage.load();
    } catch (error) {
      this.events.emit(
        'error',
        new ClientError('CM_ERR_CLIENT_CLOSED', 'the outbox storage could not be read', {
          cause: error,
          retriable: true,
        }),
      );
    }
    for (const entry of entries) {
      if (this.pending.has(entry.requestId)) continue;
      // Oldest first: the newest restored send of each chat is what a new send comes after.
      if (entry.command.type === 'send') this.unackedSends.set(entry.command.chatId, entry.command.clientMessageId);
      // Restored commands have no caller waiting; their outcome is reported by the ack / reject events.
      this.pending.set(entry.requestId, {
        entry,
        attempts: 0,
        retryTimer: undefined,
        resolve: () => undefined,
        reject: (error) => this.events.emit('error', error),
      });
    }
  }

  private async openSocket(): Promise<void> {
    if (this.stateValue === 'closed') return;
    const generation = ++this.connectGeneration;
    this.stateValue = 'connecting';
    let token: string;
    try {
      token = await this.options.tokenProvider({ reason: this.nextTokenReason, deviceId: this.options.deviceId });
      if (typeof token !== 'string' || token.length === 0) throw new TypeError('the token provider returned no token');
    } catch (cause) {
      if (this.isStale(generation)) return;
      this.events.emit('error', new ClientError('CM_ERR_CLIENT_TOKEN_FAILED', undefined, { cause }));
      this.scheduleReconnect(1006, 'token provider failed');
      return;
    }
    if (this.isStale(generation)) return;
    const url = `${this.options.wsUrl}?access_token=${encodeURIComponent(token)}`;
    let socket: WebSocketLike;
    try {
      socket = this.options.webSocketFactory(url);
    } catch (cause) {
      this.events.emit(
        'error',
        new ClientError('CM_ERR_CLIENT_NO_WEBSOCKET', 'the WebSocket factory threw', { cause }),
      );
      this.scheduleReconnect(1006, 'socket could not be created');
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(
      () => this.dropSocket(socket, `no hello within ${this.options.connectTimeoutMs} ms`),
      this.options.connectTimeoutMs,
    );
    socket.onmessage = (event) => {
      if (this.socket === socket) this.onText(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.onSocketClosed(event.code, event.reason);
    };
    socket.onerror = () => {
      // Always followed by a close event, which decides what to do.
    };
  }

  /** Whether a connection attempt was overtaken (closed, or a newer attempt started) while it awaited. */
  private isStale(generation: number): boolean {
    return generation !== this.connectGeneration || this.stateValue === 'closed';
  }

  /** Abandons a socket the client no longer trusts, and reconnects. */
  private dropSocket(socket: WebSocketLike, reason: string): void {
    if (this.socket !== socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    try {
      socket.close(CLIENT_DROPPED_CODE, reason.slice(0, 120));
    } catch {
      // Closing a socket that never opened may throw in some implementations; it is gone either way.
    }
    this.onSocketClosed(CLIENT_DROPPED_CODE, reason);
  }

  private onSocketClosed(code: number, reason: string): void {
    this.socket = undefined;
    this.clearConnectionTimers();
    if (this.stateValue === 'closed') return;
    const entry = closeCodeEntry(code);
    // Codes outside the table (1006 abnormal closure, 1011, a dropped socket...) are worth a retry.
    if (entry !== undefined && !entry.retriable) {
      this.events.emit(
        'error',
        new ClientError('CM_ERR_CLIENT_CONNECTION_ENDED', `the server ended the connection: ${code} ${entry.type}`, {
          context: { closeCode: code },
        }),
      );
      this.finish({ code, reason });
      return;
    }
    if (code === CLOSE_CODES.AUTH_EXPIRED.code) this.nextTokenReason = 'authExpired';
    if (code === CLOSE_CODES.POLICY.code) {
      // "Reconnect later": start from the upper part of the backoff curve.
      this.reconnectAttempt = Math.max(this.reconnectAttempt, 5);
    }
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code: number, reason: string): void {
    this.stateValue = 'waiting';
    this.hello = undefined;
    this.resync = undefined;
    this.typingSentAtMs.clear();
    this.clearGapTimers();
    let delayMs: number;
    if (this.reconnectAtMs !== undefined) {
      delayMs = Math.max(0, this.reconnectAtMs - Date.now());
      this.reconnectAtMs = undefined;
    } else {
      this.reconnectAttempt += 1;
      delayMs = computeRetryDelayMs(this.options.backoff, this.reconnectAttempt, this.options.random);
    }
    if (this.nextTokenReason === 'connect') this.nextTokenReason = 'reconnect';
    this.events.emit('disconnected', { code, reason, willReconnect: true, retryInMs: delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.openSocket();
    }, delayMs);
  }

  /** Ends the client for good. */
  private finish(event: { code: number; reason: string }): void {
    const wasLive = this.stateValue === 'live';
    this.stateValue = 'closed';
    this.resync = undefined;
    this.connectGeneration += 1;
    const socket = this.socket;
    this.socket = undefined;
    this.clearConnectionTimers();
    this.clearGapTimers();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    if (socket !== undefined) {
      socket.onmessage = null;
      socket.onclose = null;
      try {
        socket.close(CLOSE_CODES.NORMAL.code, 'client closed');
      } catch {
        // Already closing.
      }
    }
    for (const command of this.pending.values()) {
      if (command.retryTimer !== undefined) clearTimeout(command.retryTimer);
      command.reject(
        new ClientError('CM_ERR_CLIENT_CLOSED', undefined, {
          context: { requestId: command.entry.requestId, chatId: command.entry.command.chatId },
        }),
      );
    }
    this.pending.clear();
    for (const waiter of this.helloWaiters.splice(0)) waiter.reject(new ClientError('CM_ERR_CLIENT_CLOSED'));
    if (wasLive || socket !== undefined || event.code !== CLOSE_CODES.NORMAL.code) {
      this.events.emit('disconnected', { ...event, willReconnect: false, retryInMs: undefined });
    }
  }

  private clearConnectionTimers(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    if (this.hintTimer !== undefined) clearTimeout(this.hintTimer);
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
    this.connectTimer = this.pingTimer = this.hintTimer = this.ackTimer = this.pongTimer = undefined;
  }

  private clearGapTimers(): void {
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
    this.gapsSynced.clear();
  }

  // ---- frames ----

  private transmit(frame: ClientFrame): boolean {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== WEBSOCKET_OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  private onText(data: unknown): void {
    this.heardSincePing = true;
    let frame: ServerFrame;
    try {
      const parsed = serverFrameSchema.safeParse(JSON.parse(typeof data === 'string' ? data : String(data)));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
      }
      frame = parsed.data;
    } catch (cause) {
      this.events.emit(
        'error',
        new ClientError('CM_ERR_CLIENT_INVALID_FRAME', `ignored a frame: ${(cause as Error).message}`, { cause }),
      );
      return;
    }
    this.dispatch(frame);
  }

  private dispatch(frame: ServerFrame): void {
    // Inbox frames after a syncGap wait for the history that fills the gap: the application sees each chat in order.
    if (this.resync !== undefined && HELD_DURING_RESYNC.has(frame.type)) {
      this.resync.held.push(frame);
      return;
    }
    switch (frame.type) {
      case 'hello':
        return this.onHello(frame);
      case 'syncDone':
        return this.onSyncDone(frame);
      case 'syncGap':
        return this.onSyncGap(frame);
      case 'ack':
        return this.onCommandAck(frame);
      case 'reject':
        return this.onCommandRefused(frame, frame);
      case 'error':
        return this.onErrorFrame(frame);
      case 'reconnect':
        return this.onReconnectHint(frame);
      case 'pong':
        return;
      case 'typing':
      case 'presence':
      case 'identityKeyChanged':
        this.events.emit(frame.type, frame as never);
        return;
      case 'receipt':
        if (frame.inboxSeq !== undefined) {
          if (this.sequencer.isHandled(frame.inboxSeq)) return;
          this.onReceipt(frame);
          this.sequencer.markHandled(frame.inboxSeq);
          this.scheduleAck();
        } else {
          this.onReceipt(frame);
        }
        return;
      case 'readPointer':
        // An inbox position without a chat sequence: handled once, acked, never chat-ordered.
        if (this.sequencer.isHandled(frame.inboxSeq)) return;
        this.events.emit('readPointer', frame);
        this.sequencer.markHandled(frame.inboxSeq);
        this.scheduleAck();
        return;
      default:
        // Chat frames: from the inbox (with inboxSeq) or of a broadcast chat (without).
        return this.onChatFrame(frame);
    }
  }

  private onHello(frame: FrameOf<'hello'>): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.hello = frame;
    this.stateValue = 'live';
    this.reconnectAttempt = 0;
    this.nextTokenReason = 'reconnect';
    // The server replays after its cursor; frames up to it will not come again.
    this.sequencer.advanceCursor(frame.cursor);
    this.lastAckSent = frame.cursor;
    this.startPing();
    this.events.emit('connected', frame);
    for (const waiter of this.helloWaiters.splice(0)) waiter.resolve(frame);
    // Re-send every unanswered command unchanged: same requestId and clientMessageId, so the server's
    // dedupe answers a command it already stored with its original ack (docs/protocol.md).
    for (const command of this.pending.values()) {
      if (command.retryTimer === undefined) this.transmitCommand(command);
    }
    if (this.presenceUserIds.length > 0)
      this.transmit({ type: 'presenceSubscribe', userIds: [...this.presenceUserIds] });
    this.flushReads();
    this.scheduleAck();
  }

  private onSyncDone(frame: FrameOf<'syncDone'>): void {
    this.events.emit('syncDone', frame);
    // The gateway follows the broadcast chats from syncDone on (it takes acks only of chats it follows), and
    // the hello carries no chat positions: repeat them all, in case the last connection lost an ack.
    this.sequencer.resendChatPositions();
    this.scheduleAck();
    // After a replay, a chat that still holds frames waits only so long for the missing ones.
    for (const chatId of this.sequencer.gappedChats()) this.startGapTimer(chatId);
  }

  /** Inbox entries expired: catch up from the chat history, then hand out what came after (see history-resync). */
  private onSyncGap(frame: FrameOf<'syncGap'>): void {
    this.events.emit('syncGap', frame);
    const resync = { held: [] as ServerFrame[] };
    this.resync = resync;
    const current = (): boolean => this.resync === resync;
    resyncFromHistory({
      get: (path) => this.api('GET', path),
      sequencer: this.sequencer,
      historyPosition: this.options.historyPosition,
      emit: (frames) => {
        for (const out of frames) this.emitChatFrame(out);
      },
      historyGap: (gap) => this.events.emit('historyGap', gap),
      current,
    }).then(
      () => {
        if (!current()) return;
        this.resync = undefined;
        // The gap's positions never come: acks may now pass them.
        this.sequencer.markSeenThrough(frame.toInboxSeq);
        for (const held of resync.held) this.dispatch(held);
        this.scheduleAck();
      },
      (cause: unknown) => {
        if (!current()) return;
        this.resync = undefined;
        this.events.emit(
          'error',
          new ClientError('CM_ERR_CLIENT_RESYNC_FAILED', undefined, { cause, retriable: true }),
        );
        // Nothing after the gap was acked: a new connection replays it and names the gap again.
        if (this.socket !== undefined) this.dropSocket(this.socket, 'history resync failed');
      },
    );
  }

  private onChatFrame(frame: ChatFrame): void {
    const result = this.sequencer.accept(frame);
    for (const out of result.emit) this.emitChatFrame(out);
    for (const chatId of [...this.gapTimers.keys()]) {
      if (!this.sequencer.gappedChats().includes(chatId)) {
        clearTimeout(this.gapTimers.get(chatId));
        this.gapTimers.delete(chatId);
        this.gapsSynced.delete(chatId);
      }
    }
    if (result.gap !== undefined) {
      this.events.emit('gap', result.gap);
      // An inbox replay fills an inbox chat; a broadcast chat is not in the inbox (see onGapTimeout).
      if (frame.inboxSeq !== undefined) this.transmit({ type: 'sync', fromInboxSeq: this.sequencer.cursor });
      this.startGapTimer(result.gap.chatId);
    }
    this.scheduleAck();
  }

  private emitChatFrame(frame: ChatFrame): void {
    this.events.emit(frame.type, frame as never);
    // The user's own message from another device (or this one's echo): sent.
    if (frame.type === 'messageReceived' && frame.by.userId === this.userId) {
      this.emitStatuses(this.statuses.sent(frame.chatId, frame.seq, frame.clientMessageId));
    }
  }

  private onReceipt(frame: FrameOf<'receipt'>): void {
    this.events.emit('receipt', frame);
    this.emitStatuses(this.statuses.receipt(frame));
  }

  private emitStatuses(events: readonly MessageStatusEvent[]): void {
    for (const event of events) this.events.emit('status', event);
  }

  private startGapTimer(chatId: string): void {
    if (this.gapTimers.has(chatId) || this.stateValue !== 'live') return;
    this.gapTimers.set(
      chatId,
      setTimeout(() => this.onGapTimeout(chatId), this.options.gapTimeoutMs),
    );
  }

  /**
   * A gap stayed open for `gapTimeoutMs`. A broadcast chat first gets a `sync` replaying it after the last
   * seq handed out, and one more wait; after that (and at once for inbox chats, whose `sync` went out when
   * the gap opened) the held frames are released.
   */
  private onGapTimeout(chatId: string): void {
    this.gapTimers.delete(chatId);
    if (!this.sequencer.gappedChats().includes(chatId)) return;
    const lastSeq = this.sequencer.lastSeq(chatId);
    if (this.sequencer.isBroadcast(chatId) && !this.gapsSynced.has(chatId) && lastSeq !== undefined && lastSeq >= 0) {
      if (this.transmit({ type: 'sync', chats: [{ chatId, seq: lastSeq }] })) {
        this.gapsSynced.add(chatId);
        this.startGapTimer(chatId);
        return;
      }
    }
    this.gapsSynced.delete(chatId);
    const released = this.sequencer.releaseChat(chatId);
    if (released.length === 0) return;
    this.events.emit(
      'error',
      new ClientError('CM_ERR_CLIENT_SEQUENCE_GAP', `chat ${chatId}: released ${released.length} frames after a gap`, {
        context: { chatId },
      }),
    );
    for (const frame of released) this.emitChatFrame(frame);
    this.scheduleAck();
  }

  private onCommandAck(frame: AckResultFrame): void {
    this.events.emit('ack', frame);
    // Only sends carry a clientMessageId: the message is stored, one tick.
    if (frame.clientMessageId !== null) {
      this.emitStatuses(this.statuses.sent(frame.chatId, frame.seq, frame.clientMessageId));
    }
    const command = this.pending.get(frame.requestId);
    if (command === undefined) return;
    this.settle(command);
    const sent = command.entry.command;
    if (sent.type === 'send') {
      if (this.unackedSends.get(sent.chatId) === sent.clientMessageId) this.unackedSends.delete(sent.chatId);
      this.releaseSuccessors(sent.chatId, sent.clientMessageId);
    }
    command.resolve(frame);
  }

  /** Sends that waited for `clientMessageId` (refused as out of order) go again: it is stored now. */
  private releaseSuccessors(chatId: string, clientMessageId: string): void {
    for (const waiting of this.pending.values()) {
      if (waiting.waitingFor !== clientMessageId || waiting.entry.command.chatId !== chatId) continue;
      waiting.waitingFor = undefined;
      if (this.stateValue === 'live' && waiting.retryTimer === undefined) this.transmitCommand(waiting);
    }
  }

  /**
   * A send refused for good will never be stored: the sends that named it name its own predecessor instead (or
   * none), in the outbox storage too, and those waiting for it go again.
   */
  private unlinkRefusedSend(refused: PendingCommand): void {
    const gone = refused.entry.command;
    if (gone.type !== 'send') return;
    const before = gone.afterClientMessageId;
    if (this.unackedSends.get(gone.chatId) === gone.clientMessageId) {
      if (before === undefined) this.unackedSends.delete(gone.chatId);
      else this.unackedSends.set(gone.chatId, before);
    }
    for (const successor of this.pending.values()) {
      const next = successor.entry.command;
      if (next.type !== 'send' || next.chatId !== gone.chatId || next.afterClientMessageId !== gone.clientMessageId)
        continue;
      this.relink(successor, before);
    }
    this.releaseSuccessors(gone.chatId, gone.clientMessageId);
  }

  /** Replaces a pending send's predecessor (undefined: none), in memory and in the outbox storage. */
  private relink(command: PendingCommand, after: string | undefined): void {
    const current = command.entry.command;
    if (current.type !== 'send') return;
    const { afterClientMessageId: previous, ...rest } = current;
    command.entry = {
      ...command.entry,
      command: after === undefined ? rest : { ...rest, afterClientMessageId: after },
    };
    if (command.waitingFor === previous) command.waitingFor = undefined;
    this.options.storage.put(command.entry).catch((cause: unknown) => {
      this.events.emit(
        'error',
        new ClientError('CM_ERR_CLIENT_CLOSED', 'the outbox storage could not update a pending send', {
          cause,
          retriable: true,
        }),
      );
    });
  }

  private onCommandRefused(frame: RejectFrame | FrameOf<'error'>, reject: RejectFrame | undefined): void {
    if (reject !== undefined) this.events.emit('reject', reject);
    const command = frame.requestId === undefined ? undefined : this.pending.get(frame.requestId);
    if (command === undefined) return;
    const context = {
      requestId: command.entry.requestId,
      chatId: command.entry.command.chatId,
      serverCode: frame.code,
      ...(command.entry.command.type === 'send' ? { clientMessageId: command.entry.command.clientMessageId } : {}),
    };
    const refused = command.entry.command;
    if (frame.code === 'CM_ERR_CHAT_OUT_OF_ORDER' && refused.type === 'send') {
      // Not an attempt that failed: the earlier send must be stored first. Wait for its answer while it is in this
      // outbox; otherwise it is not coming (answered, or lost with an earlier client): stop naming it.
      const predecessor = refused.afterClientMessageId;
      const inOutbox = [...this.pending.values()].some(
        (other) =>
          other !== command &&
          other.entry.command.type === 'send' &&
          other.entry.command.chatId === refused.chatId &&
          other.entry.command.clientMessageId === predecessor,
      );
      if (inOutbox) command.waitingFor = predecessor;
      else {
        this.relink(command, undefined);
        if (this.stateValue === 'live') this.transmit(command.entry.command);
      }
      return;
    }
    // The same envelopes would be refused again: the caller re-encrypts for the listed devices and sends anew
    // with the same clientMessageId (the E2E module's sendEncrypted does).
    const deviceLists = frame.code === 'CM_ERR_E2E_DEVICE_LIST_MISMATCH' && reject !== undefined;
    if (frame.retriable && !deviceLists && command.attempts < this.options.maxCommandAttempts) {
      const delayMs = computeRetryDelayMs(this.options.backoff, command.attempts, this.options.random);
      command.retryTimer = setTimeout(() => {
        command.retryTimer = undefined;
        if (this.stateValue === 'live') this.transmitCommand(command);
      }, delayMs);
      return;
    }
    this.settle(command);
    this.unlinkRefusedSend(command);
    const error = deviceLists
      ? new ClientError('CM_ERR_CLIENT_COMMAND_REJECTED', `send refused: ${frame.code}: ${frame.message}`, {
          context: {
            ...context,
            missingDevices: reject.missingDevices ?? [],
            staleDevices: reject.staleDevices ?? [],
          },
        })
      : frame.retriable
        ? new ClientError(
            'CM_ERR_CLIENT_RETRIES_EXHAUSTED',
            `${command.entry.command.type} refused ${command.attempts} times; last: ${frame.code}: ${frame.message}`,
            { context },
          )
        : new ClientError(
            'CM_ERR_CLIENT_COMMAND_REJECTED',
            `${command.entry.command.type} refused: ${frame.code}: ${frame.message}`,
            {
              context,
            },
          );
    command.reject(error);
  }

  private onErrorFrame(frame: FrameOf<'error'>): void {
    if (frame.requestId !== undefined && this.pending.has(frame.requestId)) {
      this.onCommandRefused(frame, undefined);
      return;
    }
    this.events.emit(
      'error',
      new ClientError('CM_ERR_CLIENT_SERVER_ERROR', `${frame.code}: ${frame.message}`, {
        retriable: frame.retriable,
        context: { serverCode: frame.code, ...(frame.requestId !== undefined ? { requestId: frame.requestId } : {}) },
      }),
    );
  }

  private onReconnectHint(frame: FrameOf<'reconnect'>): void {
    // The gateway is draining: leave after the delay plus jitter, so its clients do not all arrive at once
    // at the next instance; if it closes first, the reconnect still waits until then.
    const delayMs = Math.max(0, frame.retryAfterMs) * (1 + this.options.random());
    this.reconnectAtMs = Date.now() + delayMs;
    const socket = this.socket;
    if (socket === undefined) return;
    if (this.hintTimer !== undefined) clearTimeout(this.hintTimer);
    this.hintTimer = setTimeout(() => {
      if (this.stateValue === 'live') this.flushAck();
      this.reconnectAtMs = undefined;
      this.dropSocket(socket, `server asked to reconnect (${frame.code})`);
    }, delayMs);
  }

  // ---- outbox ----

  private async enqueue(command: OutboxCommand): Promise<AckResultFrame> {
    if (this.stateValue === 'closed')
      throw new ClientError('CM_ERR_CLIENT_CLOSED', undefined, { context: { chatId: command.chatId } });
    const entry: OutboxEntry = { requestId: command.requestId, command, enqueuedAtMs: this.options.now() };
    // Stored before it is sent: if the page or process dies now, a new client sends it again.
    await this.options.storage.put(entry);
    if (this.restored !== undefined) await this.restored;
    return new Promise<AckResultFrame>((resolve, reject) => {
      const pending: PendingCommand = { entry, attempts: 0, retryTimer: undefined, resolve, reject };
      if (this.stateValue === 'closed') {
        reject(new ClientError('CM_ERR_CLIENT_CLOSED', undefined, { context: { chatId: command.chatId } }));
        return;
      }
      this.pending.set(entry.requestId, pending);
      if (this.stateValue === 'live') this.transmitCommand(pending);
    });
  }

  private transmitCommand(command: PendingCommand): void {
    command.waitingFor = undefined;
    if (this.dropIfTooOld(command)) return;
    if (this.transmit(command.entry.command)) command.attempts += 1;
  }

  /**
   * A command older than `outboxMaxAgeMs` is dropped, never sent: the server may have forgotten its id by now
   * (idempotency keys expire), and a send it no longer recognises would be stored twice.
   */
  private dropIfTooOld(command: PendingCommand): boolean {
    const { entry } = command;
    if (this.options.now() - entry.enqueuedAtMs <= this.options.outboxMaxAgeMs) return false;
    this.settle(command);
    command.reject(
      new ClientError('CM_ERR_CLIENT_OUTBOX_EXPIRED', undefined, {
        context: {
          requestId: entry.requestId,
          chatId: entry.command.chatId,
          ...(entry.command.type === 'send' ? { clientMessageId: entry.command.clientMessageId } : {}),
        },
      }),
    );
    return true;
  }

  private settle(command: PendingCommand): void {
    if (command.retryTimer !== undefined) clearTimeout(command.retryTimer);
    this.pending.delete(command.entry.requestId);
    this.options.storage.remove(command.entry.requestId).catch((cause: unknown) => {
      this.events.emit(
        'error',
        new ClientError('CM_ERR_CLIENT_CLOSED', 'the outbox storage could not drop an answered command', {
          cause,
          retriable: true,
        }),
      );
    });
  }

  // ---- acks, reads, pings ----

  /** Acks new inbox positions and broadcast chat positions: debounced, or at once past `ackBatchSize` frames. */
  private scheduleAck(): void {
    if (this.stateValue !== 'live') return;
    const inboxDue = this.sequencer.cursor - this.lastAckSent;
    if (inboxDue <= 0 && !this.sequencer.hasChatPositionsToAck) return;
    if (Math.max(0, inboxDue) + this.sequencer.chatFramesToAck >= this.options.ackBatchSize) {
      this.flushAck();
      return;
    }
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      this.flushAck();
    }, this.options.ackDebounceMs);
  }

  /** Sends the inbox cursor and the due broadcast chat positions (`CHAT_LIMITS.maxChatsPerAck` per frame). */
  private flushAck(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const upTo = this.sequencer.cursor;
    const positions = this.sequencer.chatPositionsToAck();
    if (upTo <= this.lastAckSent && positions.length === 0) return;
    let offset = 0;
    do {
      const chats = positions.slice(offset, offset + CHAT_LIMITS.maxChatsPerAck);
      const frame: ClientFrame =
        chats.length > 0 ? { type: 'ack', upToInboxSeq: upTo, chats } : { type: 'ack', upToInboxSeq: upTo };
      if (!this.transmit(frame)) return;
      this.lastAckSent = upTo;
      this.sequencer.markChatPositionsAcked(chats);
      offset += CHAT_LIMITS.maxChatsPerAck;
    } while (offset < positions.length);
  }

  private flushReads(): void {
    for (const [chatId, upToSeq] of this.unsentReads) {
      if (!this.transmit({ type: 'read', chatId, upToSeq })) return;
      this.unsentReads.delete(chatId);
    }
  }

  private startPing(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
    this.heardSincePing = true;
    const socket = this.socket;
    this.pingTimer = setInterval(() => {
      if (socket === undefined || this.socket !== socket) return;
      if (!this.transmit({ type: 'ping' })) return;
      this.heardSincePing = false;
      if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
      // Nothing back in time: the connection is dead even if the socket has not noticed (a half-open TCP
      // connection sees no FIN for minutes). Bound: pingIntervalMs + pongTimeoutMs (docs/reliability.md).
      this.pongTimer = setTimeout(() => {
        this.pongTimer = undefined;
        if (this.socket === socket && !this.heardSincePing) this.dropSocket(socket, 'no answer to ping');
      }, this.options.pongTimeoutMs);
    }, this.options.pingIntervalMs);
  }
}
