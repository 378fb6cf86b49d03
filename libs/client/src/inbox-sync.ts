import { CHAT_LIMITS, type ChatFrame, type ClientFrame, type ServerFrame } from '@chatmesh/protocol';
import type { ChatClientEvents, FrameOf } from './chat-client-types.js';
import { ChatSequencer } from './chat-sequencer.js';
import type { CompiledClientOptions } from './client-options.js';
import { ClientError } from './errors.js';
import { resyncFromHistory } from './history-resync.js';
import type { TypedEmitter } from './internal/typed-emitter.js';
import type { MessageStatusEvent, MessageStatusTracker } from './message-status.js';

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

/** What {@link InboxSync} needs from the rest of the client. */
export interface InboxSyncDeps {
  readonly options: CompiledClientOptions;
  readonly events: TypedEmitter<ChatClientEvents>;
  readonly statuses: MessageStatusTracker;
  readonly isLive: () => boolean;
  /** The user id of the current connection's `hello`. */
  readonly userId: () => string | undefined;
  transmit(frame: ClientFrame): boolean;
  /** GET on the HTTP API (the history pages of a resync). */
  get<T>(path: string): Promise<T>;
  /** Hands a held frame back to the client's dispatch once a resync is done. */
  redispatch(frame: ServerFrame): void;
  /** Drops the socket and reconnects (a failed resync: the replay names the gap again). */
  reconnect(reason: string): void;
}

/**
 * The frames that carry chat events and inbox positions, handed to the application once and in per-chat order
 * (`ChatSequencer`): gaps filled by `sync` or released after `gapTimeoutMs`, a `syncGap` caught up from the chat
 * history (`history-resync.ts`) with later frames held meanwhile, statuses of the user's own messages, and the
 * acks of inbox and broadcast chat positions (debounced, or at once every `ackBatchSize` frames).
 */
export class InboxSync {
  readonly sequencer = new ChatSequencer();
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private lastAckSent = 0;
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Broadcast chats whose gap timer sent a `sync` for the current gap: the next expiry releases. */
  private readonly gapsSynced = new Set<string>();
  /** While a `syncGap` resync fetches history: the frames that came after it, handled once it is done. */
  private resync: { readonly held: ServerFrame[] } | undefined;

  constructor(private readonly deps: InboxSyncDeps) {}

  /** Holds an inbox frame that arrived during a resync (true: held, handled once the resync is done). */
  hold(frame: ServerFrame): boolean {
    if (this.resync === undefined || !HELD_DURING_RESYNC.has(frame.type)) return false;
    this.resync.held.push(frame);
    return true;
  }

  /** A `hello`: the server replays after its cursor, so frames up to it will not come again. */
  resumedAt(cursor: number): void {
    this.sequencer.advanceCursor(cursor);
    this.lastAckSent = cursor;
  }

  /** The connection is gone: its resync and gap timers go with it (a new connection replays). */
  reset(): void {
    this.resync = undefined;
    this.clearGapTimers();
  }

  /** The socket is gone: no ack can go out on it. */
  cancelAck(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  onSyncDone(frame: FrameOf<'syncDone'>): void {
    this.deps.events.emit('syncDone', frame);
    // The gateway follows the broadcast chats from syncDone on (it takes acks only of chats it follows), and
    // the hello carries no chat positions: repeat them all, in case the last connection lost an ack.
    this.sequencer.resendChatPositions();
    this.scheduleAck();
    // After a replay, a chat that still holds frames waits only so long for the missing ones.
    for (const chatId of this.sequencer.gappedChats()) this.startGapTimer(chatId);
  }

  /** Inbox entries expired: catch up from the chat history, then hand out what came after (see history-resync). */
  onSyncGap(frame: FrameOf<'syncGap'>): void {
    const { events } = this.deps;
    events.emit('syncGap', frame);
    const resync = { held: [] as ServerFrame[] };
    this.resync = resync;
    const current = (): boolean => this.resync === resync;
    resyncFromHistory({
      get: (path) => this.deps.get(path),
      sequencer: this.sequencer,
      historyPosition: this.deps.options.historyPosition,
      emit: (frames) => {
        for (const out of frames) this.emitChatFrame(out);
      },
      historyGap: (gap) => events.emit('historyGap', gap),
      current,
    }).then(
      () => {
        if (!current()) return;
        this.resync = undefined;
        // The gap's positions never come: acks may now pass them.
        this.sequencer.markSeenThrough(frame.toInboxSeq);
        for (const held of resync.held) this.deps.redispatch(held);
        this.scheduleAck();
      },
      (cause: unknown) => {
        if (!current()) return;
        this.resync = undefined;
        events.emit('error', new ClientError('CM_ERR_CLIENT_RESYNC_FAILED', undefined, { cause, retriable: true }));
        // Nothing after the gap was acked: a new connection replays it and names the gap again.
        this.deps.reconnect('history resync failed');
      },
    );
  }

  /** A `receipt`: from the inbox (handled once, acked) or of a broadcast chat (no inbox position). */
  onReceiptFrame(frame: FrameOf<'receipt'>): void {
    if (frame.inboxSeq !== undefined) {
      if (this.sequencer.isHandled(frame.inboxSeq)) return;
      this.onReceipt(frame);
      this.sequencer.markHandled(frame.inboxSeq);
      this.scheduleAck();
    } else {
      this.onReceipt(frame);
    }
  }

  /** An inbox position without a chat sequence: handled once, acked, never chat-ordered. */
  onReadPointer(frame: FrameOf<'readPointer'>): void {
    if (this.sequencer.isHandled(frame.inboxSeq)) return;
    this.deps.events.emit('readPointer', frame);
    this.sequencer.markHandled(frame.inboxSeq);
    this.scheduleAck();
  }

  /** Chat frames: from the inbox (with inboxSeq) or of a broadcast chat (without). */
  onChatFrame(frame: ChatFrame): void {
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
      this.deps.events.emit('gap', result.gap);
      // An inbox replay fills an inbox chat; a broadcast chat is not in the inbox (see onGapTimeout).
      if (frame.inboxSeq !== undefined) this.deps.transmit({ type: 'sync', fromInboxSeq: this.sequencer.cursor });
      this.startGapTimer(result.gap.chatId);
    }
    this.scheduleAck();
  }

  /** Acks new inbox positions and broadcast chat positions: debounced, or at once past `ackBatchSize` frames. */
  scheduleAck(): void {
    if (!this.deps.isLive()) return;
    const inboxDue = this.sequencer.cursor - this.lastAckSent;
    if (inboxDue <= 0 && !this.sequencer.hasChatPositionsToAck) return;
    if (Math.max(0, inboxDue) + this.sequencer.chatFramesToAck >= this.deps.options.ackBatchSize) {
      this.flushAck();
      return;
    }
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      this.flushAck();
    }, this.deps.options.ackDebounceMs);
  }

  /** Sends the inbox cursor and the due broadcast chat positions (`CHAT_LIMITS.maxChatsPerAck` per frame). */
  flushAck(): void {
    this.cancelAck();
    const upTo = this.sequencer.cursor;
    const positions = this.sequencer.chatPositionsToAck();
    if (upTo <= this.lastAckSent && positions.length === 0) return;
    let offset = 0;
    do {
      const chats = positions.slice(offset, offset + CHAT_LIMITS.maxChatsPerAck);
      const frame: ClientFrame =
        chats.length > 0 ? { type: 'ack', upToInboxSeq: upTo, chats } : { type: 'ack', upToInboxSeq: upTo };
      if (!this.deps.transmit(frame)) return;
      this.lastAckSent = upTo;
      this.sequencer.markChatPositionsAcked(chats);
      offset += CHAT_LIMITS.maxChatsPerAck;
    } while (offset < positions.length);
  }

  private emitChatFrame(frame: ChatFrame): void {
    this.deps.events.emit(frame.type, frame as never);
    // The user's own message from another device (or this one's echo): sent.
    if (frame.type === 'messageReceived' && frame.by.userId === this.deps.userId()) {
      this.emitStatuses(this.deps.statuses.sent(frame.chatId, frame.seq, frame.clientMessageId));
    }
  }

  private onReceipt(frame: FrameOf<'receipt'>): void {
    this.deps.events.emit('receipt', frame);
    this.emitStatuses(this.deps.statuses.receipt(frame));
  }

  private emitStatuses(events: readonly MessageStatusEvent[]): void {
    for (const event of events) this.deps.events.emit('status', event);
  }

  private clearGapTimers(): void {
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
    this.gapsSynced.clear();
  }

  private startGapTimer(chatId: string): void {
    if (this.gapTimers.has(chatId) || !this.deps.isLive()) return;
    this.gapTimers.set(
      chatId,
      setTimeout(() => this.onGapTimeout(chatId), this.deps.options.gapTimeoutMs),
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
      if (this.deps.transmit({ type: 'sync', chats: [{ chatId, seq: lastSeq }] })) {
        this.gapsSynced.add(chatId);
        this.startGapTimer(chatId);
        return;
      }
    }
    this.gapsSynced.delete(chatId);
    const released = this.sequencer.releaseChat(chatId);
    if (released.length === 0) return;
    this.deps.events.emit(
      'error',
      new ClientError('CM_ERR_CLIENT_SEQUENCE_GAP', `chat ${chatId}: released ${released.length} frames after a gap`, {
        context: { chatId },
      }),
    );
    for (const frame of released) this.emitChatFrame(frame);
    this.scheduleAck();
  }
}
