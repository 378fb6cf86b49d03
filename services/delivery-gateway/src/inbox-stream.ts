import type { ServerFrame } from '@chatmesh/protocol';
import { branchValue, type InboxDelivery, type InboxEntry, type SchemaCodec } from '@chatmesh/schemas';
import { writtenHeadOf, type ChatStore } from '@chatmesh/store';
import { DeliveredTracker } from './delivered-tracker.js';
import type { InboxRenderer, RenderTarget } from './inbox-renderer.js';
import type { Semaphore } from './internal/semaphore.js';

/** Inbox entries read from the store per round trip while replaying. */
export const REPLAY_BATCH_SIZE = 200;

/**
 * What every {@link InboxStream} of a gateway shares (one object per gateway, not per socket: the
 * gateway holds ~100K streams, so nothing here is allocated per connection).
 */
export interface InboxStreamContext {
  readonly store: ChatStore;
  readonly codec: SchemaCodec;
  readonly renderer: InboxRenderer;
  /**
   * Bounds the chat log reads of replays across the gateway's sockets: a replay renders a batch's entries
   * side by side (each reads the event it references), and a reconnect storm must not put more reads in
   * flight than the store client accepts. Without it, entries are rendered one at a time.
   */
  readonly renderReads?: Semaphore;
  /** Entries read from the store, by why (`replay`, `gap`). */
  readonly onStoreRead?: (reason: 'replay' | 'gap', count: number) => void;
  /** Live deliveries at or below what was already sent. */
  readonly onDuplicate?: () => void;
  /** Inbox entries that expired before this device read them, reported in a `syncGap` (retention). */
  readonly onExpired?: (count: number) => void;
  /** A replay finished (syncDone sent), with its duration. */
  readonly onReplayDone?: (durationMs: number) => void;
  /** A live delivery (not a replay) sent a message to the device: its server time, for stored → delivered. */
  readonly onLiveMessage?: (serverTimeMs: number) => void;
}

/** The socket a stream writes to (the gateway's session: methods, so no closure per socket). */
export interface InboxStreamOwner extends RenderTarget {
  /** Sends frames to the socket; returns false once the socket is gone (the stream then stops). */
  sendFrames(frames: readonly ServerFrame[]): boolean;
  /** A failure in the pump (a store read failed): the connection should be closed to resume later. */
  streamFailed(error: unknown): void;
  /**
   * A chat creation or member addition was sent: if the chat is broadcast (a big group, not in the
   * inbox), the device joins its live events from `chatSeq` on.
   */
  lifecycleSent?(chatId: string, chatSeq: number): void;
  /** Runs before the first `syncDone`: the device catches up with its broadcast chats too. */
  catchUpBroadcasts?(): Promise<void>;
  /**
   * Runs before the user's own removal from a chat is sent: a broadcast chat's events before the removal
   * that this device has not had (it was offline) come first.
   */
  beforeOwnRemoval?(chatId: string, removedSeq: number): Promise<void>;
}

/**
 * One device's inbox on its socket: a replay from a position, then live deliveries, with no gap and no
 * duplicate (issue 6, docs/protocol.md "Ordering, resume and exactly-once").
 *
 * Everything goes through one serial pump. While it replays from the store, live deliveries only queue
 * up (they are "held"); once the store has nothing more after the last sent entry, the queue is drained
 * in inboxSeq order: an entry at or below the last sent one is dropped, one that skips ahead first has
 * the gap read from the store. `syncDone` is sent when the queue is empty, and from then on every live
 * delivery takes the same path, so live and replay can never interleave out of order.
 */
export class InboxStream {
  private lastSentSeq = 0;
  /** Live deliveries waiting; null while there are none (an idle socket holds no array). */
  private queue: InboxDelivery[] | null = null;
  private replayRequested = true;
  /** A client `sync`'s position, applied (clamped to the inbox head) when the pump starts its replay; null when none. */
  private syncFrom: number | null = null;
  /**
   * When the running replay started; null when none runs. An object rather than a number field: a
   * timestamp in a field would give every stream its own boxed heap number, replaying or not.
   */
  private replayStarted: { readonly atMs: number } | null = null;
  private pumping = false;
  private closed = false;
  private started = false;
  private broadcastsCaughtUp = false;
  /** The device's stored cursor as this socket last wrote (or read) it. */
  private ackedSeq = 0;
  /** Unacked messages by other users sent here (for DELIVERED reports); null while there are none. */
  private delivered: DeliveredTracker | null = null;

  /** Live deliveries may be queued from construction on; nothing is sent before {@link start}. */
  constructor(
    private readonly context: InboxStreamContext,
    private readonly owner: InboxStreamOwner,
  ) {}

  /** The highest inboxSeq sent on this socket. */
  get lastSent(): number {
    return this.lastSentSeq;
  }

  /** Live deliveries waiting behind a replay (or a gap read). */
  get heldCount(): number {
    return this.queue?.length ?? 0;
  }

  /** Whether the device's broadcast chats were caught up (or are being): later lifecycle entries join on their own. */
  get broadcastsReady(): boolean {
    return this.broadcastsCaughtUp;
  }

  /** Whether a replay is running or pending (until its syncDone). */
  get replaying(): boolean {
    return this.replayRequested;
  }

  /** The device's cursor as this socket knows it stored: an ack at or below it need not be written again. */
  get acked(): number {
    return this.ackedSeq;
  }

  /** Records that the device's cursor was stored at `seq` (never lowered). */
  markAcked(seq: number): void {
    if (seq > this.ackedSeq) this.ackedSeq = seq;
  }

  /** Starts the first replay, after `fromInboxSeq` (the device's cursor), once `hello` is sent. */
  start(fromInboxSeq: number): void {
    this.lastSentSeq = fromInboxSeq;
    this.ackedSeq = fromInboxSeq;
    this.started = true;
    this.replayStarted = { atMs: Date.now() };
    this.kick();
  }

  /**
   * A client `sync`: replay again after `fromInboxSeq` (the client may ask for entries it has seen). A position
   * past the inbox head is clamped to it before the replay: otherwise `syncDone` would name a position never
   * sent and the next ack would move the device's cursor past entries that do not exist yet, skipping them
   * for good once they do.
   */
  sync(fromInboxSeq: number): void {
    this.syncFrom = fromInboxSeq;
    this.replayRequested = true;
    this.replayStarted = { atMs: Date.now() };
    this.kick();
  }

  /** A live delivery from the gateway's topic. */
  deliver(delivery: InboxDelivery): void {
    if (this.closed) return;
    (this.queue ??= []).push(delivery);
    this.kick();
  }

  /** The socket closed: drop everything. */
  close(): void {
    this.closed = true;
    this.queue = null;
    this.delivered = null;
  }

  /** Unacked messages by other users sent on this socket. */
  get unackedMessages(): number {
    return this.delivered?.size ?? 0;
  }

  /**
   * The device acked up to `upToInboxSeq`: per chat, the highest chat seq of the messages by other users
   * this socket sent and the ack covers (replayed ones included), or null when there is none.
   */
  takeDelivered(upToInboxSeq: number): Map<string, number> | null {
    const tracker = this.delivered;
    if (tracker === null) return null;
    const taken = tracker.take(upToInboxSeq);
    if (tracker.size === 0) this.delivered = null;
    return taken;
  }

  private kick(): void {
    if (this.pumping || this.closed || !this.started) return;
    this.pumping = true;
    void this.pump()
      .catch((error: unknown) => {
        // The owner closes the socket; the device resumes from its cursor on reconnect.
        if (!this.closed) this.owner.streamFailed(error);
        this.close();
      })
      .finally(() => {
        this.pumping = false;
        // A delivery or sync that arrived as the pump was finishing.
        if (!this.closed && (this.heldCount > 0 || this.replayRequested)) this.kick();
      });
  }

  private async pump(): Promise<void> {
    {
      while (!this.closed) {
        if (this.replayRequested) {
          if (this.syncFrom !== null) {
            const from = this.syncFrom;
            this.syncFrom = null;
            this.lastSentSeq = await this.clampToHead(from);
            if (this.closed) return;
          }
          await this.replayFromStore();
          // Held deliveries are flushed before syncDone: they are older than anything live after it.
          await this.drainQueue();
          if (this.closed) return;
          if (this.heldCount > 0) continue;
          if (!this.broadcastsCaughtUp) {
            // Once per connection: syncDone then means "everything up to now", big groups included.
            this.broadcastsCaughtUp = true;
            await this.owner.catchUpBroadcasts?.();
            if (this.closed) return;
            if (this.heldCount > 0) continue;
          }
          // A sync that came during this replay starts another one.
          if (this.syncFrom !== null) continue;
          this.replayRequested = false;
          if (!this.owner.sendFrames([{ type: 'syncDone', upToInboxSeq: this.lastSentSeq }])) return this.close();
          this.context.onReplayDone?.(Date.now() - (this.replayStarted?.atMs ?? Date.now()));
          this.replayStarted = null;
          continue;
        }
        if (this.heldCount === 0) return;
        await this.drainQueue();
      }
    }
  }

  /** `seq`, or the inbox head when `seq` is past it (the head hint may lag: the rows after it are probed). */
  private async clampToHead(seq: number): Promise<number> {
    const log = this.context.store.inboxLog;
    const userId = this.owner.userId;
    if (seq <= this.lastSentSeq || (await log.get(userId, seq)) !== null) return seq;
    let head = await writtenHeadOf(log, userId);
    for (;;) {
      const rows = await log.readAfter(userId, head, REPLAY_BATCH_SIZE);
      if (rows.length === 0) return Math.min(seq, head);
      head = rows[rows.length - 1]!.seq;
    }
  }

  private async replayFromStore(): Promise<void> {
    for (;;) {
      const rows = await this.context.store.inboxLog.readAfter(this.owner.userId, this.lastSentSeq, REPLAY_BATCH_SIZE);
      if (this.closed) return;
      this.context.onStoreRead?.('replay', rows.length);
      if (!(await this.sendRows(rows))) return;
      if (rows.length === 0 && (await this.skipExpired(null))) continue;
      if (rows.length < REPLAY_BATCH_SIZE) return;
    }
  }

  /**
   * When the rows after the last sent one expired (retention), tells the device with a `syncGap` naming them and
   * moves past them, so the replay goes on with the oldest entry still kept: a device offline longer than the
   * inbox keeps entries is told what it missed, never skipped in silence. A missing row at or below `upTo` (the
   * written head, raised only with written rows; or a live delivery's seq, routed only once stored) expired.
   * @returns whether it moved past expired rows
   */
  private async skipExpired(upTo: number | null): Promise<boolean> {
    const log = this.context.store.inboxLog;
    const userId = this.owner.userId;
    const known = upTo ?? (await writtenHeadOf(log, userId));
    if (this.closed || known <= this.lastSentSeq) return false;
    const first = await log.firstKeptAfter(userId, this.lastSentSeq, known);
    if (this.closed || first === this.lastSentSeq + 1) return false;
    const from = this.lastSentSeq + 1;
    const to = first === null ? known : first - 1;
    this.lastSentSeq = to;
    this.context.onExpired?.(to - from + 1);
    if (!this.owner.sendFrames([{ type: 'syncGap', fromInboxSeq: from, toInboxSeq: to }])) {
      this.close();
      return false;
    }
    return true;
  }

  private async drainQueue(): Promise<void> {
    for (let queue = this.queue; queue !== null && queue.length > 0 && !this.closed; queue = this.queue) {
      // Deliveries of one user come in order from one partition; taking the smallest also orders retries.
      let index = 0;
      for (let i = 1; i < queue.length; i++) {
        if ((queue[i]!.entry.inboxSeq ?? 0) < (queue[index]!.entry.inboxSeq ?? 0)) index = i;
      }
      const [delivery] = queue.splice(index, 1);
      if (queue.length === 0 && this.queue === queue) this.queue = null;
      const seq = delivery!.entry.inboxSeq ?? 0;
      if (seq <= this.lastSentSeq) {
        this.context.onDuplicate?.();
        continue;
      }
      if (seq > this.lastSentSeq + 1 && !(await this.fillGap(seq))) return;
      if (seq <= this.lastSentSeq) {
        this.context.onDuplicate?.();
        continue;
      }
      if (!(await this.sendEntry(delivery!.entry, delivery!.content, undefined, true))) return;
    }
  }

  /** Reads the entries between the last sent one and `seq` (exclusive) from the store and sends them. */
  private async fillGap(seq: number): Promise<boolean> {
    while (this.lastSentSeq < seq - 1) {
      const wanted = Math.min(REPLAY_BATCH_SIZE, seq - 1 - this.lastSentSeq);
      const rows = await this.context.store.inboxLog.readAfter(this.owner.userId, this.lastSentSeq, wanted);
      if (this.closed) return false;
      this.context.onStoreRead?.('gap', rows.length);
      // The sequencer stores before it routes, so a row missing below a live delivery expired (retention) and is
      // named in a syncGap; failing that, it is a store read racing a replica: the entry itself is still sent and
      // the client can `sync` on the chat seq jump.
      if (rows.length === 0) {
        if (await this.skipExpired(seq - 1)) continue;
        if (this.closed) return false;
        break;
      }
      if (!(await this.sendRows(rows))) return false;
    }
    return true;
  }

  /**
   * Sends stored inbox rows in order. Their entries reference independent chat log rows, so with a
   * {@link InboxStreamContext.renderReads} bound they are rendered side by side first (a replay of 10,000
   * entries is then not 10,000 sequential store round trips), then sent one after the other.
   */
  private async sendRows(rows: ReadonlyArray<{ readonly payload: Buffer }>): Promise<boolean> {
    const limit = this.context.renderReads;
    const entries = await Promise.all(rows.map((row) => this.decode(row.payload)));
    const rendered =
      limit === undefined
        ? null
        : await Promise.all(
            entries.map((entry) => limit.run(() => this.context.renderer.render(entry, this.owner, null))),
          );
    if (this.closed) return false;
    for (const [index, entry] of entries.entries()) {
      if (!(await this.sendEntry(entry, null, rendered?.[index]))) return false;
    }
    return true;
  }

  private async decode(payload: Buffer): Promise<InboxEntry> {
    return (await this.context.codec.decode<InboxEntry>(payload)).value;
  }

  private async sendEntry(
    entry: InboxEntry,
    content: InboxDelivery['content'],
    prerendered?: ServerFrame[],
    live = false,
  ): Promise<boolean> {
    const seq = entry.inboxSeq ?? 0;
    const ref = branchValue(entry.item, 'chatmesh.inbox.ChatEventRef');
    if (ref?.kind === 'MEMBERS_REMOVED' && ref.affectedUserIds.includes(this.owner.userId) && seq > this.lastSentSeq) {
      await this.owner.beforeOwnRemoval?.(entry.chatId, ref.chatSeq);
      if (this.closed) return false;
    }
    const frames = prerendered ?? (await this.context.renderer.render(entry, this.owner, content));
    if (this.closed) return false;
    // Entries with no client frame (an event missing from the chat log) still move the position, so the client can ack past them.
    this.lastSentSeq = Math.max(this.lastSentSeq, seq);
    if (frames.length > 0 && !this.owner.sendFrames(frames)) {
      this.close();
      return false;
    }
    if (live && this.context.onLiveMessage !== undefined) {
      for (const frame of frames) if (frame.type === 'messageReceived') this.context.onLiveMessage(frame.serverTimeMs);
    }
    // Before the first syncDone, catchUpBroadcasts joins every broadcast chat of the user in one go.
    if (this.broadcastsCaughtUp && (ref?.kind === 'CHAT_CREATED' || ref?.kind === 'MEMBERS_ADDED'))
      this.owner.lifecycleSent?.(entry.chatId, ref.chatSeq);
    if (frames.length > 0 && ref?.kind === 'MESSAGE_RECEIVED' && ref.actorUserId !== this.owner.userId) {
      (this.delivered ??= new DeliveredTracker()).record(seq, entry.chatId, ref.chatSeq);
    }
    return true;
  }
}
