import type { ServerFrame } from '@chatmesh/protocol';
import { isBranch, type ChatEvent, type SchemaCodec } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import { renderChatEvent, type RenderTarget } from './inbox-renderer.js';
import { Semaphore } from './internal/semaphore.js';

/** Chat log rows read per round trip while a device catches up with a broadcast chat. */
export const BROADCAST_READ_BATCH = 200;

/** Chats whose head is remembered without a device here (the rest are forgotten oldest first). */
const IDLE_HEADS_LIMIT = 100_000;

/**
 * Chat log reads of joins at once, per gateway. A big group's creation makes every member's device join
 * within a few milliseconds (4,096 joins for four groups of 1,024): unbounded, their reads overflow the
 * store client's in-flight limit and fail; bounded, they queue.
 */
export const MAX_CONCURRENT_JOIN_READS = 64;

/** One device's membership in one broadcast chat on its socket. */
export interface BroadcastJoin {
  /** False while the backlog is read from the chat log; true once the socket is subscribed. */
  live: boolean;
  /** The highest chat seq sent to the socket by the join itself (acks are clamped to what was sent). */
  sentSeq: number;
}

/** A socket as the hub sees it (the gateway's session). */
export interface BroadcastMember extends RenderTarget {
  readonly closed: boolean;
  /** This socket's broadcast chats; null until its first (most sockets never have one). */
  broadcastJoins: Map<string, BroadcastJoin> | null;
  /** Sends frames to this socket only; false once the socket is gone. */
  sendFrames(frames: readonly ServerFrame[]): boolean;
  /** Subscribes the socket to a pub/sub topic of the gateway (uWS topics); false when it is closed. */
  subscribeTopic(topic: string): boolean;
  unsubscribeTopic(topic: string): void;
}

/** What the hub needs from its gateway. */
export interface BroadcastHubDeps {
  readonly store: ChatStore;
  readonly codec: SchemaCodec;
  /** Sends one serialized frame to every socket subscribed to `topic`, in native code. */
  publish(topic: string, text: string, frameType: ServerFrame['type'], subscribers: number): void;
  /** The open sockets of a user on this gateway. */
  sessionsOf(userId: string): readonly BroadcastMember[];
  /** How long a join waits for the topic consumer to reach the chat log's head (see the config variable). */
  readonly joinWaitMs: number;
  /**
   * The first event of a chat this gateway sees: devices here that follow the chat through their inbox (it
   * turned broadcast while they were connected) must join it now.
   */
  readonly onFirstSight?: (chatId: string) => void;
  readonly onEvent?: (outcome: 'published' | 'duplicate' | 'gap_filled') => void;
  /** An event read live from the topic was published to devices here (for stored → delivered). */
  readonly onDelivered?: (event: ChatEvent) => void;
  readonly onJoin?: (outcome: 'subscribed' | 'waited_out') => void;
  readonly onSubscriptions?: (delta: number) => void;
}

/** The uWS topic of a broadcast chat. */
export function broadcastTopic(chatId: string): string {
  return `b/${chatId}`;
}

function removedUsersOf(event: ChatEvent): readonly string[] {
  const body = event.event;
  return isBranch(body, 'chatmesh.chat.MembersRemoved') ? body['chatmesh.chat.MembersRemoved'].userIds : [];
}

function hasEnvelopes(event: ChatEvent): boolean {
  const body = event.event;
  return (
    isBranch(body, 'chatmesh.chat.MessageReceived') &&
    body['chatmesh.chat.MessageReceived'].content.envelopes.length > 0
  );
}

/** Who a frame is rendered for when it goes to every device alike (no per-device ciphertext). */
const ANY_DEVICE: RenderTarget = { userId: '', deviceId: '' };

/**
 * The delivery of broadcast chats (big groups) on one gateway: fan-out writes each of their events once to
 * `chat.broadcast`, every gateway reads all of it, and the hub serializes each frame once and publishes it
 * to the uWS topic its devices in the chat subscribe to. Instead of one inbox row and one delivery per
 * member, a group message costs one record per gateway and one native publish.
 *
 * No gap and no duplicate, per device: the hub tracks per chat the highest seq it has published (`head`),
 * and publishes only the next one (a gap is read from the chat log first, a duplicate dropped). A device
 * joins from a chat seq: it reads the chat log after it, then compares the last seq read with the head;
 * equal, it subscribes in the same tick, so the next publish is exactly the next seq; the head further, it
 * reads on; the head behind (this gateway's consumer has not caught up with the log), it waits for it.
 * Everything the chat log holds was written before its `chat.broadcast` record, so the head never passes
 * an event the log lacks.
 */
export class BroadcastHub {
  /** Per chat, the highest seq published here (or seen, while nobody here is in the chat). */
  private readonly heads = new Map<string, number>();
  /** The live sockets of each chat. */
  private readonly members = new Map<string, Set<BroadcastMember>>();
  /** Joins waiting for a chat's head to move. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscriptionCount = 0;
  private readonly joinReads = new Semaphore(MAX_CONCURRENT_JOIN_READS);

  constructor(private readonly deps: BroadcastHubDeps) {}

  /** Device subscriptions held (one per socket per broadcast chat). */
  get subscriptions(): number {
    return this.subscriptionCount;
  }

  /** The highest seq of the chat published here, if known. */
  headOf(chatId: string): number | undefined {
    return this.heads.get(chatId);
  }

  /**
   * An event from `chat.broadcast`. Called for one chat at a time in seq order (the topic is keyed by
   * chat); redelivered or out-of-date events are dropped, missed ones read from the chat log.
   */
  async onEvent(event: ChatEvent): Promise<void> {
    const { chatId, seq } = event;
    const head = this.heads.get(chatId);
    if (head === undefined && !this.members.has(chatId)) this.deps.onFirstSight?.(chatId);
    if (head !== undefined && seq <= head) {
      this.deps.onEvent?.('duplicate');
      return;
    }
    if (head !== undefined && seq > head + 1 && this.members.has(chatId)) {
      // Records this gateway never saw (a consumer that restarted from the latest offset): the devices here
      // get them from the chat log, published in order before this one.
      for (let after = head; after < seq - 1;) {
        const rows = await this.deps.store.chatLog.readAfter(
          chatId,
          after,
          Math.min(BROADCAST_READ_BATCH, seq - 1 - after),
        );
        if (rows.length === 0) break;
        for (const row of rows) {
          const missed = await this.decode(row.payload);
          after = missed.seq;
          if (missed.seq <= (this.heads.get(chatId) ?? 0)) continue;
          this.publish(missed);
          this.deps.onEvent?.('gap_filled');
        }
      }
      if (seq <= (this.heads.get(chatId) ?? 0)) return;
    }
    const hasDevicesHere = (this.members.get(chatId)?.size ?? 0) > 0;
    this.publish(event);
    this.deps.onEvent?.('published');
    if (hasDevicesHere) this.deps.onDelivered?.(event);
  }

  /**
   * Joins a socket to a broadcast chat after `afterSeq`: sends the chat log's events after it, then
   * subscribes the socket to the chat's live events, with no gap and no duplicate. A second join of the
   * same chat (a client `sync`) restarts it from its own position; a closed socket stops it.
   * The caller has checked that the user is a member from `afterSeq` on.
   */
  async join(member: BroadcastMember, chatId: string, afterSeq: number): Promise<void> {
    if (member.closed) return;
    this.leave(member, chatId);
    const join: BroadcastJoin = { live: false, sentSeq: afterSeq };
    (member.broadcastJoins ??= new Map()).set(chatId, join);
    const current = (): boolean => !member.closed && member.broadcastJoins?.get(chatId) === join;
    const deadline = Date.now() + this.deps.joinWaitMs;
    let read = true;
    for (;;) {
      if (read) {
        const rows = await this.joinRead(() =>
          this.deps.store.chatLog.readAfter(chatId, join.sentSeq, BROADCAST_READ_BATCH),
        );
        if (!current()) return;
        for (const row of rows) {
          const event = await this.decode(row.payload);
          if (!current()) return;
          if (removedUsersOf(event).includes(member.userId)) {
            // The user left here: the removal itself comes from their inbox, nothing after it does.
            this.leave(member, chatId);
            return;
          }
          if (!member.sendFrames(renderChatEvent(event, undefined, member))) return;
          join.sentSeq = event.seq;
        }
        if (rows.length === BROADCAST_READ_BATCH) continue;
        if (rows.length === 0 && (this.heads.get(chatId) ?? 0) > join.sentSeq) {
          // Published here but not readable yet (a lagging replica): read again shortly, up to the deadline.
          if (Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            if (!current()) return;
            continue;
          }
          this.subscribe(member, chatId, join);
          this.deps.onJoin?.('waited_out');
          return;
        }
      }
      const head = this.heads.get(chatId);
      if (head === undefined || head === join.sentSeq) {
        // Nothing published here yet for this chat: from now on only what follows the log's head is.
        if (head === undefined) this.setHead(chatId, join.sentSeq);
        this.subscribe(member, chatId, join);
        this.deps.onJoin?.('subscribed');
        return;
      }
      if (head > join.sentSeq) {
        // Published while the log was read: those events are in the log too.
        read = true;
        continue;
      }
      // The log is ahead of this gateway's consumer: subscribing now would bring those events twice.
      const remaining = deadline - Date.now();
      if (remaining <= 0 || !(await this.headMoved(chatId, remaining))) {
        if (!current()) return;
        // Subscribed anyway: the device may see up to (sentSeq - head) events twice and drops them by seq.
        this.subscribe(member, chatId, join);
        this.deps.onJoin?.('waited_out');
        return;
      }
      if (!current()) return;
      read = false;
    }
  }

  /**
   * Sends the chat log's events in `(afterSeq, upToSeq]` to one socket, without following the chat: a device
   * that was offline when its user was removed gets what came before the removal.
   */
  async sendRange(member: BroadcastMember, chatId: string, afterSeq: number, upToSeq: number): Promise<void> {
    for (let after = afterSeq; after < upToSeq && !member.closed;) {
      const rows = await this.deps.store.chatLog.readAfter(
        chatId,
        after,
        Math.min(BROADCAST_READ_BATCH, upToSeq - after),
      );
      if (rows.length === 0) return;
      for (const row of rows) {
        if (!member.sendFrames(renderChatEvent(await this.decode(row.payload), undefined, member))) return;
        after = row.seq;
      }
    }
  }

  /** Runs one chat log read of a join once fewer than {@link MAX_CONCURRENT_JOIN_READS} run. */
  private joinRead<T>(read: () => Promise<T>): Promise<T> {
    return this.joinReads.run(read);
  }

  /** Takes a socket out of a broadcast chat (removed from the chat, or re-joining from another seq). */
  leave(member: BroadcastMember, chatId: string): void {
    const join = member.broadcastJoins?.get(chatId);
    if (join === undefined) return;
    member.broadcastJoins!.delete(chatId);
    if (member.broadcastJoins!.size === 0) member.broadcastJoins = null;
    if (!join.live) return;
    if (!member.closed) member.unsubscribeTopic(broadcastTopic(chatId));
    this.removeMember(member, chatId);
  }

  /** The socket closed (uWS drops its topic subscriptions itself). */
  closed(member: BroadcastMember): void {
    const joins = member.broadcastJoins;
    if (joins === null) return;
    member.broadcastJoins = null;
    for (const [chatId, join] of joins) if (join.live) this.removeMember(member, chatId);
  }

  private subscribe(member: BroadcastMember, chatId: string, join: BroadcastJoin): void {
    if (!member.subscribeTopic(broadcastTopic(chatId))) return;
    join.live = true;
    let set = this.members.get(chatId);
    if (set === undefined) this.members.set(chatId, (set = new Set()));
    set.add(member);
    this.subscriptionCount++;
    this.deps.onSubscriptions?.(1);
  }

  private removeMember(member: BroadcastMember, chatId: string): void {
    const set = this.members.get(chatId);
    if (set === undefined || !set.delete(member)) return;
    if (set.size === 0) this.members.delete(chatId);
    this.subscriptionCount--;
    this.deps.onSubscriptions?.(-1);
  }

  /** Sends one event to the devices here in its chat and moves the head, in one tick (joins rely on it). */
  private publish(event: ChatEvent): void {
    const { chatId } = event;
    // Removed users' sockets leave before the removal goes out: they get it from their inbox, and nothing after.
    for (const userId of removedUsersOf(event)) {
      for (const member of this.deps.sessionsOf(userId)) this.leave(member, chatId);
    }
    const set = this.members.get(chatId);
    if (set !== undefined && set.size > 0) {
      if (hasEnvelopes(event)) {
        // End-to-end encrypted: each device gets only its own ciphertext, so one frame per device.
        for (const member of [...set]) member.sendFrames(renderChatEvent(event, undefined, member));
      } else {
        const topic = broadcastTopic(chatId);
        for (const frame of renderChatEvent(event, undefined, ANY_DEVICE)) {
          this.deps.publish(topic, JSON.stringify(frame), frame.type, set.size);
        }
      }
    }
    this.setHead(chatId, event.seq);
    const waiting = this.waiters.get(chatId);
    if (waiting !== undefined) {
      this.waiters.delete(chatId);
      for (const wake of waiting) wake();
    }
  }

  private setHead(chatId: string, seq: number): void {
    // Re-inserted so the map's order is least recently moved first: idle chats are forgotten first.
    this.heads.delete(chatId);
    this.heads.set(chatId, seq);
    if (this.heads.size <= IDLE_HEADS_LIMIT) return;
    for (const idle of this.heads.keys()) {
      if (this.members.has(idle) || this.waiters.has(idle)) continue;
      this.heads.delete(idle);
      return;
    }
  }

  /** Resolves true when the chat's head moves, false after `timeoutMs`. */
  private headMoved(chatId: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.waiters.get(chatId);
      if (set === undefined) this.waiters.set(chatId, (set = new Set()));
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const current = this.waiters.get(chatId);
        current?.delete(wake);
        if (current?.size === 0) this.waiters.delete(chatId);
        resolve(false);
      }, timeoutMs);
      set.add(wake);
    });
  }

  private async decode(payload: Buffer): Promise<ChatEvent> {
    return (await this.deps.codec.decode<ChatEvent>(payload)).value;
  }
}
