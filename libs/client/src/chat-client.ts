import { CLOSE_CODES, directChatId, serverFrameSchema, type ServerFrame } from '@chatmesh/protocol';
import type { AcceptedChange, DeviceInfo, PushChannelRegistration, PushWakeUp, UserSettings } from './http-api.js';
import type {
  ChatClient,
  ChatClientEvents,
  ClientState,
  CommandAck,
  DirectChatResult,
  FrameOf,
  MessageContent,
} from './chat-client-types.js';
import { compileClientOptions, type ChatClientOptions, type CompiledClientOptions } from './client-options.js';
import { ClientConnection } from './connection.js';
import { ClientError } from './errors.js';
import { ClientHttpApi } from './http-api.js';
import { InboxSync } from './inbox-sync.js';
import { newId } from './internal/ids.js';
import { TypedEmitter } from './internal/typed-emitter.js';
import { MessageStatusTracker, type MessageStatus } from './message-status.js';
import { Outbox } from './outbox.js';

export type {
  ChatClient,
  ChatClientEvents,
  ClientState,
  CommandAck,
  DirectChatResult,
  DisconnectedEvent,
  GapEvent,
  MessageContent,
} from './chat-client-types.js';
export type { AcceptedChange, DeviceInfo, PushChannelRegistration, PushWakeUp, UserSettings } from './http-api.js';

/**
 * Creates a chat client and (by default) connects it.
 * @throws ClientError `CM_ERR_CLIENT_INVALID_OPTIONS`, `CM_ERR_CLIENT_NO_WEBSOCKET`.
 */
export function createChatClient(options: ChatClientOptions): ChatClient {
  const client = new ChatClientImpl(compileClientOptions(options));
  if (client.options.autoConnect) client.connect();
  return client;
}

/**
 * The client: its parts are the connection (`connection.ts`), the outbox (`outbox.ts`), the inbox and chat
 * positions (`inbox-sync.ts`) and the HTTP API (`http-api.ts`); this class routes the server's frames to them and
 * builds the commands and the fire-and-forget frames (read, typing, presence).
 */
class ChatClientImpl implements ChatClient {
  private readonly events = new TypedEmitter<ChatClientEvents>();
  private readonly statuses = new MessageStatusTracker();
  private readonly http: ClientHttpApi;
  private readonly connection: ClientConnection;
  private readonly outbox: Outbox;
  private readonly sync: InboxSync;
  private readonly unsentReads = new Map<string, number>();
  /** Chats with a `typing: true` out, and when it was sent. */
  private readonly typingSentAtMs = new Map<string, number>();
  private presenceUserIds: readonly string[] = [];

  constructor(readonly options: CompiledClientOptions) {
    this.http = new ClientHttpApi(options);
    this.connection = new ClientConnection(options, this.events, {
      onText: (data) => this.onText(data),
      onSocketGone: () => this.sync.cancelAck(),
      onWaiting: () => {
        this.sync.reset();
        this.typingSentAtMs.clear();
      },
      onFinished: () => {
        this.sync.reset();
        this.sync.cancelAck();
        this.outbox.rejectAll();
      },
      beforeLeaving: () => {
        if (this.connection.isLive) this.sync.flushAck();
      },
    });
    this.outbox = new Outbox(options, this.events, this.statuses, this.connection);
    this.sync = new InboxSync({
      options,
      events: this.events,
      statuses: this.statuses,
      isLive: () => this.connection.isLive,
      userId: () => this.userId,
      transmit: (frame) => this.connection.transmit(frame),
      get: <T>(path: string) => this.http.request<T>('GET', path),
      redispatch: (frame) => this.dispatch(frame),
      reconnect: (reason) => this.connection.dropCurrent(reason),
    });
  }

  get userId(): string | undefined {
    return this.connection.hello?.userId;
  }

  get state(): ClientState {
    return this.connection.state;
  }

  get cursor(): number {
    return this.sync.sequencer.cursor;
  }

  get pendingCommands(): number {
    return this.outbox.size;
  }

  on<K extends keyof ChatClientEvents>(event: K, handler: (payload: ChatClientEvents[K]) => void): () => void {
    return this.events.on(event, handler);
  }

  off<K extends keyof ChatClientEvents>(event: K, handler: (payload: ChatClientEvents[K]) => void): void {
    this.events.off(event, handler);
  }

  connect(): void {
    if (this.connection.state !== 'idle') return;
    this.connection.start(this.outbox.restore());
  }

  connected(): Promise<FrameOf<'hello'>> {
    return this.connection.connected();
  }

  // ---- commands through the outbox ----

  send(chatId: string, content: MessageContent, options: { clientMessageId?: string } = {}): Promise<CommandAck> {
    return this.outbox.send(chatId, content, options.clientMessageId);
  }

  async createDirectChat(otherUserId: string): Promise<DirectChatResult> {
    const me = this.userId ?? (await this.connected()).userId;
    const chatId = directChatId(me, otherUserId);
    try {
      const ack = await this.outbox.enqueue({
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
    return this.outbox.enqueue({
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
    return this.outbox.enqueue({ type: 'updateChat', requestId: newId(), chatId, ...changes });
  }

  addMembers(chatId: string, userIds: readonly string[]): Promise<CommandAck> {
    return this.outbox.enqueue({ type: 'addMembers', requestId: newId(), chatId, userIds: [...userIds] });
  }

  removeMembers(chatId: string, userIds: readonly string[]): Promise<CommandAck> {
    return this.outbox.enqueue({ type: 'removeMembers', requestId: newId(), chatId, userIds: [...userIds] });
  }

  leave(chatId: string): Promise<CommandAck> {
    return this.outbox.enqueue({ type: 'leaveChat', requestId: newId(), chatId });
  }

  // ---- fire-and-forget frames ----

  markRead(chatId: string, upToSeq: number): void {
    this.unsentReads.set(chatId, Math.max(upToSeq, this.unsentReads.get(chatId) ?? 0));
    if (this.connection.isLive) this.flushReads();
  }

  setTyping(chatId: string, typing: boolean): void {
    if (!this.connection.isLive) return;
    const sentAtMs = this.typingSentAtMs.get(chatId);
    if (typing) {
      const now = this.options.now();
      if (sentAtMs !== undefined && now - sentAtMs < this.options.typingRefreshMs) return;
      if (this.connection.transmit({ type: 'typing', chatId, typing: true })) this.typingSentAtMs.set(chatId, now);
      return;
    }
    if (sentAtMs === undefined) return;
    this.typingSentAtMs.delete(chatId);
    this.connection.transmit({ type: 'typing', chatId, typing: false });
  }

  subscribePresence(userIds: readonly string[]): void {
    this.presenceUserIds = [...new Set(userIds)];
    if (this.connection.isLive)
      this.connection.transmit({ type: 'presenceSubscribe', userIds: [...this.presenceUserIds] });
  }

  messageStatus(chatId: string, seq: number, byUserId?: string): MessageStatus | undefined {
    return this.statuses.status(chatId, seq, byUserId);
  }

  // ---- HTTP API (settings, devices, push) ----

  getSettings(): Promise<UserSettings> {
    return this.http.getSettings();
  }

  updateSettings(changes: Partial<UserSettings>): Promise<AcceptedChange> {
    return this.http.updateSettings(changes);
  }

  listDevices(): Promise<DeviceInfo[]> {
    return this.http.listDevices();
  }

  removeDevice(deviceId: string): Promise<AcceptedChange> {
    return this.http.removeDevice(deviceId);
  }

  registerPushChannel(channel: PushChannelRegistration): Promise<AcceptedChange> {
    return this.http.registerPushChannel(channel);
  }

  unregisterPushChannel(): Promise<AcceptedChange> {
    return this.http.unregisterPushChannel();
  }

  listPushWakeUps(limit?: number): Promise<PushWakeUp[]> {
    return this.http.listPushWakeUps(limit);
  }

  async close(): Promise<void> {
    if (this.connection.isClosed) return;
    if (this.connection.isLive) this.sync.flushAck();
    this.connection.finish({ code: CLOSE_CODES.NORMAL.code, reason: 'closed by the client' });
    await Promise.resolve();
  }

  // ---- frames from the server ----

  private onText(data: unknown): void {
    this.connection.heard();
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
    if (this.sync.hold(frame)) return;
    switch (frame.type) {
      case 'hello':
        return this.onHello(frame);
      case 'syncDone':
        return this.sync.onSyncDone(frame);
      case 'syncGap':
        return this.sync.onSyncGap(frame);
      case 'ack':
        return this.outbox.onAck(frame);
      case 'reject':
        return this.outbox.onRefused(frame, frame);
      case 'error':
        return this.onErrorFrame(frame);
      case 'reconnect':
        return this.connection.onReconnectHint(frame);
      case 'pong':
        return;
      case 'typing':
      case 'presence':
      case 'identityKeyChanged':
        this.events.emit(frame.type, frame as never);
        return;
      case 'receipt':
        return this.sync.onReceiptFrame(frame);
      case 'readPointer':
        return this.sync.onReadPointer(frame);
      default:
        // Chat frames: from the inbox (with inboxSeq) or of a broadcast chat (without).
        return this.sync.onChatFrame(frame);
    }
  }

  private onHello(frame: FrameOf<'hello'>): void {
    this.connection.markLive(frame);
    // The server replays after its cursor; frames up to it will not come again.
    this.sync.resumedAt(frame.cursor);
    this.events.emit('connected', frame);
    this.connection.announce(frame);
    this.outbox.resendAll();
    if (this.presenceUserIds.length > 0)
      this.connection.transmit({ type: 'presenceSubscribe', userIds: [...this.presenceUserIds] });
    this.flushReads();
    this.sync.scheduleAck();
  }

  private onErrorFrame(frame: FrameOf<'error'>): void {
    if (frame.requestId !== undefined && this.outbox.has(frame.requestId)) {
      this.outbox.onRefused(frame, undefined);
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

  private flushReads(): void {
    for (const [chatId, upToSeq] of this.unsentReads) {
      if (!this.connection.transmit({ type: 'read', chatId, upToSeq })) return;
      this.unsentReads.delete(chatId);
    }
  }
}
