import { computeRetryDelayMs } from '@chatmesh/errors';
import type { AckResultFrame, ClientFrame, RejectFrame } from '@chatmesh/protocol';
import type { ChatClientEvents, FrameOf, MessageContent } from './chat-client-types.js';
import type { CompiledClientOptions } from './client-options.js';
import { ClientError } from './errors.js';
import { newId } from './internal/ids.js';
import type { TypedEmitter } from './internal/typed-emitter.js';
import type { MessageStatusTracker } from './message-status.js';
import type { OutboxCommand, OutboxEntry } from './outbox-storage.js';

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

/** What the outbox needs from the connection. */
export interface OutboxConnection {
  readonly isLive: boolean;
  readonly isClosed: boolean;
  transmit(frame: ClientFrame): boolean;
}

/**
 * Commands waiting for the server's answer: stored before they are sent, re-sent unchanged (same `requestId` and
 * `clientMessageId`) after every reconnect until an `ack` or a `reject`, retried with backoff when the refusal is
 * retriable, dropped unsent past `outboxMaxAgeMs`. A chat's sends name their predecessor
 * (`afterClientMessageId`), so the server stores a sender's messages in the order they were sent.
 */
export class Outbox {
  private readonly pending = new Map<string, PendingCommand>();
  /**
   * Per chat, this client's newest send not acknowledged yet: the next send names it (`afterClientMessageId`), so
   * the server stores a sender's messages in the order they were sent, whatever is refused, lost or re-sent.
   */
  private readonly unackedSends = new Map<string, string>();
  private restored: Promise<void> | undefined;

  constructor(
    private readonly options: CompiledClientOptions,
    private readonly events: TypedEmitter<ChatClientEvents>,
    private readonly statuses: MessageStatusTracker,
    private readonly connection: OutboxConnection,
  ) {}

  /** Number of commands waiting for an answer. */
  get size(): number {
    return this.pending.size;
  }

  has(requestId: string): boolean {
    return this.pending.has(requestId);
  }

  /** Loads the stored commands once (the first call starts it; every call returns the same promise). */
  restore(): Promise<void> {
    this.restored ??= this.load();
    return this.restored;
  }

  /** A message after this client's previous unanswered send of the chat. */
  send(chatId: string, content: MessageContent, clientMessageId?: string): Promise<AckResultFrame> {
    const requestId = newId();
    const messageId = clientMessageId ?? requestId;
    const after = this.unackedSends.get(chatId);
    this.unackedSends.set(chatId, messageId);
    return this.enqueue({
      type: 'send',
      requestId,
      chatId,
      clientMessageId: messageId,
      ...(after !== undefined && after !== messageId ? { afterClientMessageId: after } : {}),
      ...(content.body !== undefined ? { body: content.body } : {}),
      ...(content.envelopes !== undefined ? { envelopes: content.envelopes } : {}),
      ...(content.attachments !== undefined ? { attachments: content.attachments } : {}),
    });
  }

  async enqueue(command: OutboxCommand): Promise<AckResultFrame> {
    if (this.connection.isClosed)
      throw new ClientError('CM_ERR_CLIENT_CLOSED', undefined, { context: { chatId: command.chatId } });
    const entry: OutboxEntry = { requestId: command.requestId, command, enqueuedAtMs: this.options.now() };
    // Stored before it is sent: if the page or process dies now, a new client sends it again.
    await this.options.storage.put(entry);
    if (this.restored !== undefined) await this.restored;
    return new Promise<AckResultFrame>((resolve, reject) => {
      const pending: PendingCommand = { entry, attempts: 0, retryTimer: undefined, resolve, reject };
      if (this.connection.isClosed) {
        reject(new ClientError('CM_ERR_CLIENT_CLOSED', undefined, { context: { chatId: command.chatId } }));
        return;
      }
      this.pending.set(entry.requestId, pending);
      if (this.connection.isLive) this.transmitCommand(pending);
    });
  }

  /**
   * A new connection: every unanswered command goes again unchanged (same requestId and clientMessageId), so the
   * server's dedupe answers a command it already stored with its original ack (docs/protocol.md).
   */
  resendAll(): void {
    for (const command of this.pending.values()) {
      if (command.retryTimer === undefined) this.transmitCommand(command);
    }
  }

  /** The client closed: waiting promises reject with `CM_ERR_CLIENT_CLOSED` (the storage keeps the commands). */
  rejectAll(): void {
    for (const command of this.pending.values()) {
      if (command.retryTimer !== undefined) clearTimeout(command.retryTimer);
      command.reject(
        new ClientError('CM_ERR_CLIENT_CLOSED', undefined, {
          context: { requestId: command.entry.requestId, chatId: command.entry.command.chatId },
        }),
      );
    }
    this.pending.clear();
  }

  onAck(frame: AckResultFrame): void {
    this.events.emit('ack', frame);
    // Only sends carry a clientMessageId: the message is stored, one tick.
    if (frame.clientMessageId !== null) {
      for (const event of this.statuses.sent(frame.chatId, frame.seq, frame.clientMessageId))
        this.events.emit('status', event);
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

  /** A `reject`, or an `error` frame naming a command of this outbox. */
  onRefused(frame: RejectFrame | FrameOf<'error'>, reject: RejectFrame | undefined): void {
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
        if (this.connection.isLive) this.connection.transmit(command.entry.command);
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
        if (this.connection.isLive) this.transmitCommand(command);
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

  private async load(): Promise<void> {
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

  /** Sends that waited for `clientMessageId` (refused as out of order) go again: it is stored now. */
  private releaseSuccessors(chatId: string, clientMessageId: string): void {
    for (const waiting of this.pending.values()) {
      if (waiting.waitingFor !== clientMessageId || waiting.entry.command.chatId !== chatId) continue;
      waiting.waitingFor = undefined;
      if (this.connection.isLive && waiting.retryTimer === undefined) this.transmitCommand(waiting);
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

  private transmitCommand(command: PendingCommand): void {
    command.waitingFor = undefined;
    if (this.dropIfTooOld(command)) return;
    if (this.connection.transmit(command.entry.command)) command.attempts += 1;
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
}
