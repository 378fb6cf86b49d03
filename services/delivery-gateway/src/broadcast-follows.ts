import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { ChatEvent, SchemaCodec } from '@chatmesh/schemas';
import { isBranch } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import { BroadcastHub, type BroadcastJoin } from './broadcast-hub.js';
import { ChatPositionFlusher } from './chat-position-flusher.js';
import type { DeliveredReporter } from './delivered-reporter.js';
import type { PendingWork } from './internal/pending-work.js';
import type { GATEWAY_METRICS } from './metrics.js';
import type { Session } from './session.js';
import type { SessionOutput } from './session-output.js';
import type { SessionRegistry } from './session-registry.js';

/** Broadcast chats a connecting device catches up with at once. */
const BROADCAST_JOINS_AT_ONCE = 8;

/** What {@link BroadcastFollows} needs. */
export interface BroadcastFollowsDeps {
  readonly store: ChatStore;
  readonly codec: SchemaCodec;
  readonly logger: Logger;
  readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
  readonly sessions: SessionRegistry;
  readonly output: SessionOutput;
  readonly delivered: DeliveredReporter;
  readonly work: PendingWork;
  /** Sends one serialized frame to every socket subscribed to a uWS topic (`app.publish`). */
  publish(topic: string, text: string): void;
  /** `CHATMESH_GATEWAY_BROADCAST_JOIN_WAIT_MS`. */
  readonly joinWaitMs: number;
  /** `CHATMESH_GATEWAY_CHAT_ACK_FLUSH_MS`: how often acked broadcast chat positions are written. */
  readonly chatAckFlushMs: number;
}

/**
 * Which broadcast chats (big groups, docs/architecture.md) each socket follows: the joins at connect, after a
 * lifecycle entry of the inbox, on `sync {chats}` and when a chat turns broadcast; the events owed before the
 * user's own removal; and the device's acked positions (`ack {chats}`), stored and reported coalesced.
 * The {@link BroadcastHub} below it publishes the events.
 */
export class BroadcastFollows {
  private readonly hub: BroadcastHub;
  private readonly positions: ChatPositionFlusher<Session>;

  constructor(private readonly deps: BroadcastFollowsDeps) {
    const { metrics } = deps;
    this.hub = new BroadcastHub({
      store: deps.store,
      codec: deps.codec,
      joinWaitMs: deps.joinWaitMs,
      publish(topic, text, frameType, subscribers) {
        deps.publish(topic, text);
        metrics.gatewayFramesOutTotal.inc({ type: frameType }, subscribers);
      },
      sessionsOf: (userId) => deps.sessions.sessionsOf(userId),
      onFirstSight: (chatId) => {
        void deps.work
          .track(this.adoptBroadcastChat(chatId))
          .catch((error: unknown) =>
            deps.logger.warn({ err: error }, 'could not look up the devices here of a new broadcast chat'),
          );
      },
      onEvent: (outcome) => metrics.gatewayBroadcastEventsTotal.inc({ outcome }),
      onDelivered: (event) => {
        if (isBranch(event.event, 'chatmesh.chat.MessageReceived'))
          metrics.gatewayStoredToDeliveredSeconds.observe(
            { path: 'broadcast' },
            (Date.now() - event.serverTimeMs) / 1000,
          );
      },
      onJoin: (outcome) => metrics.gatewayBroadcastJoinsTotal.inc({ outcome }),
      onSubscriptions: (delta) => metrics.gatewayBroadcastSubscriptions.inc(delta),
    });
    this.positions = new ChatPositionFlusher<Session>(deps.chatAckFlushMs, (session, chatId, seq, atMs) =>
      this.writeChatPosition(session, chatId, seq, atMs),
    );
  }

  /** Broadcast chat subscriptions of sockets here (uWS topics). */
  get subscriptions(): number {
    return this.hub.subscriptions;
  }

  /** A record of `chat.broadcast`. */
  onEvent(event: ChatEvent): Promise<void> {
    return this.hub.onEvent(event);
  }

  /** The socket closed: it leaves its chats, and its acked positions are written now. */
  closed(session: Session): void {
    this.hub.closed(session);
    void this.deps.work.track(this.positions.flushOwner(session));
  }

  /** Writes the positions still waiting (at stop). */
  stop(): Promise<void> {
    return this.positions.stop();
  }

  /** The device just learned of a chat (created, or the user added) at `chatSeq`: big groups continue here. */
  lifecycleSent(session: Session, chatId: string, chatSeq: number): void {
    void this.deps.work.track(
      this.joinIfBroadcast(session, chatId, chatSeq).catch((error: unknown) =>
        this.deps.output.streamFailed(session, error),
      ),
    );
  }

  /**
   * Reserves a chat's join on a socket while it is being decided, so that another trigger (a first sight, the
   * catch-up) does not start a second one meanwhile; `join` replaces the placeholder.
   */
  private reserveJoin(session: Session, chatId: string): BroadcastJoin | null {
    if (session.broadcastJoins?.has(chatId)) return null;
    const placeholder: BroadcastJoin = { live: false, sentSeq: 0 };
    (session.broadcastJoins ??= new Map()).set(chatId, placeholder);
    return placeholder;
  }

  private dropReservation(session: Session, chatId: string, placeholder: BroadcastJoin): void {
    if (session.broadcastJoins?.get(chatId) !== placeholder) return;
    session.broadcastJoins.delete(chatId);
    if (session.broadcastJoins.size === 0) session.broadcastJoins = null;
  }

  private async joinIfBroadcast(session: Session, chatId: string, chatSeq: number): Promise<void> {
    const placeholder = this.reserveJoin(session, chatId);
    if (placeholder === null) return;
    const since = await this.deps.store.broadcastChats.sinceOf(chatId).catch((error: unknown) => {
      this.dropReservation(session, chatId, placeholder);
      throw error;
    });
    // A chat that turns broadcast later is picked up by onFirstSight when its first broadcast event arrives.
    if (
      since === null ||
      since > chatSeq + 1 ||
      session.closed ||
      session.broadcastJoins?.get(chatId) !== placeholder
    ) {
      this.dropReservation(session, chatId, placeholder);
      return;
    }
    await this.hub.join(session, chatId, chatSeq);
  }

  /**
   * A broadcast chat this gateway has not seen before: it may have turned broadcast at an ordinary event,
   * while its members' devices followed it through their inboxes. Those connected here join it now.
   */
  private async adoptBroadcastChat(chatId: string): Promise<void> {
    const { store, sessions, work, output } = this.deps;
    const [members, since] = await Promise.all([
      store.directory.currentMembers(chatId),
      store.broadcastChats.sinceOf(chatId),
    ]);
    if (since === null) return;
    for (const member of members) {
      // Members since the event that marked the chat (or later) hear of it from their inbox, which joins them
      // after that entry: joined here first, their device could see the chat's messages before the chat.
      if (member.joinedSeq >= since - 1) continue;
      for (const session of sessions.sessionsOf(member.userId)) {
        // Before its catch-up a socket joins every broadcast chat of the user there.
        if (session.closed || !session.stream.broadcastsReady || session.broadcastJoins?.has(chatId)) continue;
        void work.track(
          this.hub
            .join(session, chatId, Math.max(since - 1, member.joinedSeq))
            .catch((error: unknown) => output.streamFailed(session, error)),
        );
      }
    }
  }

  /**
   * The user's removal from a chat is about to be sent. A socket that follows the chat got everything before
   * it live (or its join stops at it); one that did not (the device was offline) first gets the broadcast
   * events between its position and the removal, which it can no longer catch up as a member.
   */
  async beforeOwnRemoval(session: Session, chatId: string, removedSeq: number): Promise<void> {
    if (session.broadcastJoins?.has(chatId)) return;
    const { store } = this.deps;
    const since = await store.broadcastChats.sinceOf(chatId);
    // Everything before `since` came through the inbox.
    if (since === null || since >= removedSeq) return;
    const [positions, members] = await Promise.all([
      store.chatCursors.list(session.userId, session.deviceId),
      store.directory.membersAt(chatId, removedSeq - 1),
    ]);
    const membership = members.find((member) => member.userId === session.userId);
    if (membership === undefined) return;
    const after = Math.max(positions.get(chatId) ?? 0, since - 1, membership.joinedSeq);
    await this.hub.sendRange(session, chatId, after, removedSeq - 1);
  }

  /**
   * At connect, after the inbox replay: every broadcast chat of the user resumes after the device's
   * position in it (or where the user joined, or where the chat turned broadcast: before that, its events
   * are in the inbox).
   */
  async catchUpBroadcasts(session: Session): Promise<void> {
    const { store } = this.deps;
    const chats = await store.directory.chatsOfUser(session.userId);
    if (chats.length === 0 || session.closed) return;
    const sinces = await store.broadcastChats.sinceOfMany(chats.map((chat) => chat.chatId));
    if (sinces.size === 0 || session.closed) return;
    const positions = await store.chatCursors.list(session.userId, session.deviceId);
    const due = chats.filter((chat) => sinces.has(chat.chatId) && !session.broadcastJoins?.has(chat.chatId));
    // Reserved at once: a lifecycle entry or a first sight meanwhile leaves these to the catch-up.
    for (const chat of due) this.reserveJoin(session, chat.chatId);
    for (let start = 0; start < due.length && !session.closed; start += BROADCAST_JOINS_AT_ONCE) {
      await Promise.all(
        due
          .slice(start, start + BROADCAST_JOINS_AT_ONCE)
          .map((chat) =>
            this.hub.join(
              session,
              chat.chatId,
              Math.max(positions.get(chat.chatId) ?? 0, sinces.get(chat.chatId)! - 1, chat.joinedSeq),
            ),
          ),
      );
    }
  }

  /** Stores a device's position in a broadcast chat and reports it DELIVERED (coalesced by `positions`). */
  private async writeChatPosition(session: Session, chatId: string, upTo: number, atMs: number): Promise<void> {
    try {
      await this.deps.store.chatCursors.advance(session.userId, session.deviceId, chatId, upTo);
    } catch (error) {
      // The device is sent these frames again after its next connect and drops them by seq.
      this.deps.logger.warn({ err: error }, 'could not store a broadcast chat position');
      return;
    }
    // The position is stored; if the report is lost, the next ack of the chat reports a higher seq.
    await this.deps.delivered.report(session, chatId, upTo, atMs);
  }

  /** `ack.chats`: the device's position in each broadcast chat it follows here (stored and reported coalesced). */
  async ackChats(session: Session, chats: ReadonlyArray<{ chatId: string; seq: number }>, atMs: number): Promise<void> {
    await Promise.all(
      chats.map(({ chatId, seq }) => {
        const join = session.broadcastJoins?.get(chatId);
        if (join === undefined) return;
        // Never past what this socket was sent.
        const sent = join.live ? Math.max(join.sentSeq, this.hub.headOf(chatId) ?? 0) : join.sentSeq;
        const upTo = Math.min(seq, sent);
        if (upTo <= 0) return;
        return this.positions.note(session, chatId, upTo, atMs);
      }),
    );
  }

  /** `sync.chats`: replays broadcast chats the user is a member of after the given seqs, then follows them live. */
  async syncChats(session: Session, chats: ReadonlyArray<{ chatId: string; seq: number }>): Promise<void> {
    const { store, output, work } = this.deps;
    const memberships = new Map(
      (await store.directory.chatsOfUser(session.userId)).map((chat) => [chat.chatId, chat.joinedSeq]),
    );
    const sinces = await store.broadcastChats.sinceOfMany(chats.map((chat) => chat.chatId));
    for (const { chatId, seq } of chats) {
      const joinedSeq = memberships.get(chatId);
      const since = sinces.get(chatId);
      if (joinedSeq === undefined || since === undefined) {
        output.errorFrame(session, {
          code: 'CM_ERR_CHAT_NOT_FOUND',
          message: `chat ${chatId} is not a broadcast chat you are a member of; sync its inbox instead`,
          retriable: false,
        });
        continue;
      }
      void work.track(
        this.hub
          .join(session, chatId, Math.max(seq, joinedSeq, since - 1))
          .catch((error: unknown) => output.streamFailed(session, error)),
      );
    }
  }
}
