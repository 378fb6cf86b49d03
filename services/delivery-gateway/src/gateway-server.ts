import { randomUUID } from 'node:crypto';
import type { Subscription } from '@chatmesh/bus';
import { isChatmeshError } from '@chatmesh/errors';
import { createSampledLog, type Logger } from '@chatmesh/logging';
import type { MetricInstruments, Registry } from '@chatmesh/metrics';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import {
  CLOSE_CODES,
  parseClientFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  type CloseCodeEntry,
  type ServerFrame,
} from '@chatmesh/protocol';
import { TokenBucket, type RateLimiter } from '@chatmesh/rate-limit';
import type { TypedTopics } from '@chatmesh/runtime';
import { gatewayDeliveriesTopic, TOPICS, type GatewayDelivery, type SchemaCodec } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import type { TemplatedApp, us_listen_socket, us_socket, WebSocket } from 'uWebSockets.js';
import type { SectionValues } from '@chatmesh/config';
import { checkEnvelopeDevices, type DeviceListMismatch } from './device-list-check.js';
import { createIdentityNotifier } from './identity-notices.js';
import { BroadcastHub, type BroadcastJoin, type BroadcastMember } from './broadcast-hub.js';
import { ChatPositionFlusher } from './chat-position-flusher.js';
import { GatewayError } from './errors.js';
import {
  deliveredReport,
  deviceStatusEvent,
  frameToRecord,
  LOCAL_REQUEST_PREFIX,
  type FrameRecord,
  type FrameSender,
} from './frame-commands.js';
import { devTokensEnabled, type GATEWAY_CONFIG } from './gateway-config.js';
import type { AttachmentRoutesDeps } from './attachment-routes.js';
import { registerHttpApi, type ChatPageAssets } from './http-api.js';
import { createInboxRenderer, renderStatusUpdate } from './inbox-renderer.js';
import { ExpiryWheel } from './expiry-wheel.js';
import { Semaphore } from './internal/semaphore.js';
import { InboxStream, type InboxStreamContext, type InboxStreamOwner } from './inbox-stream.js';
import { bearerToken, pending, sendJson } from './internal/http.js';
import { readHandshake, upgradeAfterAwait } from './internal/async-upgrade.js';
import type { GATEWAY_METRICS } from './metrics.js';
import { loadUws } from './native-uws.js';
import type { TokenVerifier } from './token-verifier.js';

/** The gateway's settings (its config section). */
export type GatewaySettings = SectionValues<typeof GATEWAY_CONFIG>;

/** What {@link startGateway} needs. */
export interface GatewayDeps {
  readonly mode: 'embedded' | 'stack';
  readonly gatewayId: string;
  readonly settings: GatewaySettings;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
  readonly store: ChatStore;
  readonly presence: PresenceRegistry;
  readonly codec: SchemaCodec;
  readonly typed: TypedTopics;
  readonly verifier: TokenVerifier;
  /** Per-connection buckets (always in memory). */
  readonly connectionLimiter: RateLimiter;
  /** Per-user buckets (Redis in stack mode, so shared by every gateway). */
  readonly userLimiter: RateLimiter;
  /** Embedded mode's chat page, if the web-chat package is there. */
  readonly chatPage?: () => Promise<ChatPageAssets | null>;
  /** The per-user device list limit (DEVICES_CONFIG), checked at the upgrade. */
  readonly maxDevicesPerUser: number;
  /** The attachment API's service and, in embedded mode, the local store whose blob URLs the gateway serves. */
  readonly attachments?: AttachmentRoutesDeps;
}

/** A running gateway. */
export interface Gateway {
  /** `http://host:port` (the port the OS chose when configured with 0). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, sends `reconnect` and closes every socket with 1012, unregisters, releases the lease. */
  stop(): Promise<void>;
  health(): {
    ready: boolean;
    status: 'starting' | 'ready' | 'draining' | 'stopped' | 'failed';
    details: Record<string, unknown>;
  };
}

/** What every session of a gateway shares (one object per gateway). */
interface SessionHub {
  readonly gatewayId: string;
  /** `<instanceId>-`: a connection id is this prefix and the connection's number in hex (UUID characters only). */
  readonly connectionIdPrefix: string;
  readonly streams: InboxStreamContext;
  sendFrames(session: Session, frames: readonly ServerFrame[]): boolean;
  streamFailed(session: Session, error: unknown): void;
  lifecycleSent(session: Session, chatId: string, chatSeq: number): void;
  catchUpBroadcasts(session: Session): Promise<void>;
  beforeOwnRemoval(session: Session, chatId: string, removedSeq: number): Promise<void>;
}

/**
 * One authenticated socket. Kept small on purpose (a gateway holds ~100K of them; docs "Connection
 * density" in load-tests/README.md): behaviour lives in methods and in the {@link SessionHub} shared by
 * every session, so a socket owns no closure, no timer (token expiry is one {@link ExpiryWheel}) and no
 * promise while idle; its connection id is built from a number when needed.
 */
class Session implements FrameSender, InboxStreamOwner, BroadcastMember {
  ws: WebSocket<UserData> | null = null;
  /** Broadcast chats (big groups) this socket follows; null while it follows none. */
  broadcastJoins: Map<string, BroadcastJoin> | null = null;
  readonly stream: InboxStream;
  /** The frames (and the open) of this socket in order; null when nothing is running. */
  chain: Promise<void> | null = null;
  /** Refused frames in the current minute, created at the first one. */
  violations: ViolationWindow | null = null;
  closed = false;
  /** The token's expiry slot in the gateway's wheel (`ExpiryWheel.slotOf`), or -1 when it is not timed. */
  expirySlot = -1;
  requestCounter = 0;
  /** The connection's typing bucket, created at its first typing frame. */
  typing: TypingBucket | null = null;
  /** Set at the upgrade, dropped once `hello` is sent: a socket that closes while it is set never had a session. */
  opening: OpeningClock | null = null;

  constructor(
    private readonly hub: SessionHub,
    readonly userId: string,
    readonly deviceId: string,
    private readonly connectionNumber: number,
  ) {
    this.stream = new InboxStream(hub.streams, this);
  }

  get gatewayId(): string {
    return this.hub.gatewayId;
  }

  /** Unique across gateways and restarts (the instance id is a UUID); identifies this socket in presence. */
  get connectionId(): string {
    return `${this.hub.connectionIdPrefix}${this.connectionNumber.toString(16)}`;
  }

  sendFrames(frames: readonly ServerFrame[]): boolean {
    return this.hub.sendFrames(this, frames);
  }

  streamFailed(error: unknown): void {
    this.hub.streamFailed(this, error);
  }

  lifecycleSent(chatId: string, chatSeq: number): void {
    this.hub.lifecycleSent(this, chatId, chatSeq);
  }

  catchUpBroadcasts(): Promise<void> {
    return this.hub.catchUpBroadcasts(this);
  }

  beforeOwnRemoval(chatId: string, removedSeq: number): Promise<void> {
    return this.hub.beforeOwnRemoval(this, chatId, removedSeq);
  }

  subscribeTopic(topic: string): boolean {
    if (this.closed || this.ws === null) return false;
    return this.ws.subscribe(topic);
  }

  unsubscribeTopic(topic: string): void {
    if (!this.closed && this.ws !== null) this.ws.unsubscribe(topic);
  }

  /** Runs `task` after every earlier one of this socket; the chain is dropped again once it is idle. */
  runInOrder(task: () => Promise<void>, onError: (error: unknown) => void): Promise<void> {
    const next = (this.chain ?? Promise.resolve()).then(task).catch(onError);
    this.chain = next;
    void next.then(() => {
      if (this.chain === next) this.chain = null;
    });
    return next;
  }
}

/** Refused frames of a connection in a minute (objects only for connections that had one). */
interface ViolationWindow {
  count: number;
  startMs: number;
}

/** A small token bucket per connection for typing frames. */
interface TypingBucket {
  readonly tokens: TokenBucket;
  /** Refused typing frames; every 10th counts as a violation (abuse, not a burst). */
  refused: number;
}

/** When the upgrade was written (an object, only until `hello`: a number field would box a double per session). */
interface OpeningClock {
  readonly upgradedAtMs: number;
}

interface UserData {
  readonly session: Session;
}

/** Chat log reads of inbox replays in flight at once, over all the gateway's sockets. */
const REPLAY_RENDER_READS = 256;

/** Broadcast chats a connecting device catches up with at once. */
const BROADCAST_JOINS_AT_ONCE = 8;

/** How often expired tokens are looked for: a socket is closed at most this long after its token expires. */
const EXPIRY_RESOLUTION_MS = 1000;

/** A `hello` later than this after the upgrade is logged as a warning (clients give up on the order of seconds). */
const SLOW_HELLO_MS = 1000;

/**
 * Starts the uWebSockets.js app of one gateway process: `GET /v1/ws` (the client protocol), the HTTP
 * API, the consumer of `gateway.<gatewayId>.deliveries` and the presence lease.
 * @throws GatewayError `CM_ERR_GATEWAY_UWS_UNSUPPORTED` when no uWebSockets.js build fits this Node and glibc
 * @throws GatewayError `CM_ERR_GATEWAY_NATIVE_UWS_MISSING` when uWS runs its JavaScript fallback
 * @throws GatewayError `CM_ERR_GATEWAY_LISTEN_FAILED` when the port cannot be bound
 */
export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  const { uWS } = loadUws();
  const { settings, logger, metrics, store, presence, typed, gatewayId } = deps;
  // Refused frames and policy closes: every one counted by a metric, the first few per code a minute logged.
  const refusals = createSampledLog(logger);
  const instanceId = randomUUID();
  const renderer = createInboxRenderer({ store, codec: deps.codec });
  /** The open sessions of each user here: one, or an array when several devices are connected. */
  const byUser = new Map<string, Session | Session[]>();
  let connectionCount = 0;
  let connectionNumber = 0;
  const pendingWork = new Set<Promise<unknown>>();
  let status: 'starting' | 'ready' | 'draining' | 'stopped' | 'failed' = 'starting';
  let consumerReady = false;
  let listenSocket: us_listen_socket | null = null;
  const counts = { connectionsOpened: 0, deliveries: 0, commandsProduced: 0, leaseRenewals: 0 };

  const track = <T>(promise: Promise<T>): Promise<T> => {
    pendingWork.add(promise);
    void promise.then(
      () => pendingWork.delete(promise),
      () => pendingWork.delete(promise),
    );
    return promise;
  };

  const app: TemplatedApp = uWS.App();
  const broadcast = new BroadcastHub({
    store,
    codec: deps.codec,
    joinWaitMs: settings.broadcastJoinWaitMs,
    publish(topic, text, frameType, subscribers) {
      app.publish(topic, text, false, false);
      metrics.gatewayFramesOutTotal.inc({ type: frameType }, subscribers);
    },
    sessionsOf(userId) {
      const sessions = byUser.get(userId);
      return sessions === undefined ? [] : Array.isArray(sessions) ? [...sessions] : [sessions];
    },
    onFirstSight: (chatId) => {
      void track(adoptBroadcastChat(chatId)).catch((error: unknown) =>
        logger.warn({ err: error }, 'could not look up the devices here of a new broadcast chat'),
      );
    },
    onEvent: (outcome) => metrics.gatewayBroadcastEventsTotal.inc({ outcome }),
    onDelivered: (event) => {
      if ('chatmesh.chat.MessageReceived' in event.event)
        metrics.gatewayStoredToDeliveredSeconds.observe(
          { path: 'broadcast' },
          (Date.now() - event.serverTimeMs) / 1000,
        );
    },
    onJoin: (outcome) => metrics.gatewayBroadcastJoinsTotal.inc({ outcome }),
    onSubscriptions: (delta) => metrics.gatewayBroadcastSubscriptions.inc(delta),
  });

  const chatPositions = new ChatPositionFlusher<Session>(settings.chatAckFlushMs, (session, chatId, seq, atMs) =>
    writeChatPosition(session, chatId, seq, atMs),
  );

  // The lease first: devices registered before it would be bound to no live instance.
  await presence.acquireGateway({ gatewayId, instanceId, ttlMs: settings.leaseTtlMs });

  function sendFrames(session: Session, frames: readonly ServerFrame[]): boolean {
    const ws = session.ws;
    if (session.closed || ws === null) return false;
    let dropped = false;
    ws.cork(() => {
      for (const frame of frames) {
        if (ws.send(JSON.stringify(frame), false) === 2) dropped = true;
        metrics.gatewayFramesOutTotal.inc({ type: frame.type });
      }
    });
    // The bound is ours (uWS's own limit sits above it), so a slow client is closed with a code the
    // SDK understands instead of silently losing frames; it resumes from its cursor.
    if (dropped || ws.getBufferedAmount() > settings.maxBackpressureBytes) {
      metrics.gatewayBackpressureClosesTotal.inc();
      closeSession(session, CLOSE_CODES.SLOW_CONSUMER);
      return false;
    }
    return true;
  }

  function closeSession(session: Session, entry: CloseCodeEntry): void {
    if (session.closed || session.ws === null) return;
    metrics.gatewayClosesTotal.inc({ close_code: String(entry.code) });
    // end() runs the close handler synchronously, which does the bookkeeping.
    session.ws.end(entry.code, entry.type);
  }

  const hub: SessionHub = {
    gatewayId,
    connectionIdPrefix: `${instanceId}-`,
    streams: {
      store,
      codec: deps.codec,
      renderer,
      renderReads: new Semaphore(REPLAY_RENDER_READS),
      onStoreRead: (reason, count) => metrics.gatewayReplayedEntriesTotal.inc({ reason }, count),
      onDuplicate: () => metrics.gatewayDeliveriesDroppedTotal.inc({ reason: 'duplicate' }),
      onExpired: (count) => metrics.gatewayInboxExpiredEntriesTotal.inc(count),
      onReplayDone: (durationMs) => metrics.gatewayReplayDurationSeconds.observe(durationMs / 1000),
      onLiveMessage: (serverTimeMs) =>
        metrics.gatewayStoredToDeliveredSeconds.observe({ path: 'inbox' }, (Date.now() - serverTimeMs) / 1000),
    },
    sendFrames,
    streamFailed(session, error) {
      logger.warn({ err: error }, 'inbox stream failed; closing the socket so the device resumes from its cursor');
      closeSession(session, CLOSE_CODES.GOING_AWAY);
    },
    lifecycleSent(session, chatId, chatSeq) {
      void track(joinIfBroadcast(session, chatId, chatSeq).catch((error: unknown) => hub.streamFailed(session, error)));
    },
    catchUpBroadcasts,
    beforeOwnRemoval,
  };

  /**
   * Reserves a chat's join on a socket while it is being decided, so that another trigger (a first sight, the
   * catch-up) does not start a second one meanwhile; `join` replaces the placeholder.
   */
  function reserveJoin(session: Session, chatId: string): BroadcastJoin | null {
    if (session.broadcastJoins?.has(chatId)) return null;
    const placeholder: BroadcastJoin = { live: false, sentSeq: 0 };
    (session.broadcastJoins ??= new Map()).set(chatId, placeholder);
    return placeholder;
  }

  function dropReservation(session: Session, chatId: string, placeholder: BroadcastJoin): void {
    if (session.broadcastJoins?.get(chatId) !== placeholder) return;
    session.broadcastJoins.delete(chatId);
    if (session.broadcastJoins.size === 0) session.broadcastJoins = null;
  }

  /** The device just learned of a chat (created, or the user added) at `chatSeq`: big groups continue here. */
  async function joinIfBroadcast(session: Session, chatId: string, chatSeq: number): Promise<void> {
    const placeholder = reserveJoin(session, chatId);
    if (placeholder === null) return;
    const since = await store.broadcastChats.sinceOf(chatId).catch((error: unknown) => {
      dropReservation(session, chatId, placeholder);
      throw error;
    });
    // A chat that turns broadcast later is picked up by onFirstSight when its first broadcast event arrives.
    if (
      since === null ||
      since > chatSeq + 1 ||
      session.closed ||
      session.broadcastJoins?.get(chatId) !== placeholder
    ) {
      dropReservation(session, chatId, placeholder);
      return;
    }
    await broadcast.join(session, chatId, chatSeq);
  }

  /**
   * A broadcast chat this gateway has not seen before: it may have turned broadcast at an ordinary event,
   * while its members' devices followed it through their inboxes. Those connected here join it now.
   */
  async function adoptBroadcastChat(chatId: string): Promise<void> {
    const [members, since] = await Promise.all([
      store.directory.currentMembers(chatId),
      store.broadcastChats.sinceOf(chatId),
    ]);
    if (since === null) return;
    for (const member of members) {
      // Members since the event that marked the chat (or later) hear of it from their inbox, which joins them
      // after that entry: joined here first, their device could see the chat's messages before the chat.
      if (member.joinedSeq >= since - 1) continue;
      const sessions = byUser.get(member.userId);
      if (sessions === undefined) continue;
      for (const session of Array.isArray(sessions) ? [...sessions] : [sessions]) {
        // Before its catch-up a socket joins every broadcast chat of the user there.
        if (session.closed || !session.stream.broadcastsReady || session.broadcastJoins?.has(chatId)) continue;
        void track(
          broadcast
            .join(session, chatId, Math.max(since - 1, member.joinedSeq))
            .catch((error: unknown) => hub.streamFailed(session, error)),
        );
      }
    }
  }

  /**
   * The user's removal from a chat is about to be sent. A socket that follows the chat got everything before
   * it live (or its join stops at it); one that did not (the device was offline) first gets the broadcast
   * events between its position and the removal, which it can no longer catch up as a member.
   */
  async function beforeOwnRemoval(session: Session, chatId: string, removedSeq: number): Promise<void> {
    if (session.broadcastJoins?.has(chatId)) return;
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
    await broadcast.sendRange(session, chatId, after, removedSeq - 1);
  }

  /**
   * At connect, after the inbox replay: every broadcast chat of the user resumes after the device's
   * position in it (or where the user joined, or where the chat turned broadcast: before that, its events
   * are in the inbox).
   */
  async function catchUpBroadcasts(session: Session): Promise<void> {
    const chats = await store.directory.chatsOfUser(session.userId);
    if (chats.length === 0 || session.closed) return;
    const sinces = await store.broadcastChats.sinceOfMany(chats.map((chat) => chat.chatId));
    if (sinces.size === 0 || session.closed) return;
    const positions = await store.chatCursors.list(session.userId, session.deviceId);
    const due = chats.filter((chat) => sinces.has(chat.chatId) && !session.broadcastJoins?.has(chat.chatId));
    // Reserved at once: a lifecycle entry or a first sight meanwhile leaves these to the catch-up.
    for (const chat of due) reserveJoin(session, chat.chatId);
    for (let start = 0; start < due.length && !session.closed; start += BROADCAST_JOINS_AT_ONCE) {
      await Promise.all(
        due
          .slice(start, start + BROADCAST_JOINS_AT_ONCE)
          .map((chat) =>
            broadcast.join(
              session,
              chat.chatId,
              Math.max(positions.get(chat.chatId) ?? 0, sinces.get(chat.chatId)! - 1, chat.joinedSeq),
            ),
          ),
      );
    }
  }

  /** Stores a device's position in a broadcast chat and reports it DELIVERED (coalesced by `chatPositions`). */
  async function writeChatPosition(session: Session, chatId: string, upTo: number, atMs: number): Promise<void> {
    try {
      await store.chatCursors.advance(session.userId, session.deviceId, chatId, upTo);
    } catch (error) {
      // The device is sent these frames again after its next connect and drops them by seq.
      logger.warn({ err: error }, 'could not store a broadcast chat position');
      return;
    }
    const record = deliveredReport(session, chatId, upTo, atMs, localRequestId(session));
    try {
      await typed.send(record.topic, record.key, record.value);
      metrics.gatewayReceiptReportsTotal.inc({ kind: 'DELIVERED' });
    } catch (error) {
      // The position is stored; the next ack of the chat reports a higher seq, which covers this one.
      logger.warn({ err: error }, 'could not produce a DELIVERED report');
    }
  }

  /** `ack.chats`: the device's position in each broadcast chat it follows here (stored and reported coalesced). */
  async function ackChats(
    session: Session,
    chats: ReadonlyArray<{ chatId: string; seq: number }>,
    atMs: number,
  ): Promise<void> {
    await Promise.all(
      chats.map(({ chatId, seq }) => {
        const join = session.broadcastJoins?.get(chatId);
        if (join === undefined) return;
        // Never past what this socket was sent.
        const sent = join.live ? Math.max(join.sentSeq, broadcast.headOf(chatId) ?? 0) : join.sentSeq;
        const upTo = Math.min(seq, sent);
        if (upTo <= 0) return;
        return chatPositions.note(session, chatId, upTo, atMs);
      }),
    );
  }

  /** `sync.chats`: replays broadcast chats the user is a member of after the given seqs, then follows them live. */
  async function syncChats(session: Session, chats: ReadonlyArray<{ chatId: string; seq: number }>): Promise<void> {
    const memberships = new Map(
      (await store.directory.chatsOfUser(session.userId)).map((chat) => [chat.chatId, chat.joinedSeq]),
    );
    const sinces = await store.broadcastChats.sinceOfMany(chats.map((chat) => chat.chatId));
    for (const { chatId, seq } of chats) {
      const joinedSeq = memberships.get(chatId);
      const since = sinces.get(chatId);
      if (joinedSeq === undefined || since === undefined) {
        errorFrame(session, {
          code: 'CM_ERR_CHAT_NOT_FOUND',
          message: `chat ${chatId} is not a broadcast chat you are a member of; sync its inbox instead`,
          retriable: false,
        });
        continue;
      }
      void track(
        broadcast
          .join(session, chatId, Math.max(seq, joinedSeq, since - 1))
          .catch((error: unknown) => hub.streamFailed(session, error)),
      );
    }
  }
  const expiries = new ExpiryWheel<Session>(EXPIRY_RESOLUTION_MS, (session) => {
    session.expirySlot = -1;
    closeSession(session, CLOSE_CODES.AUTH_EXPIRED);
  });

  /** The open session of (userId, deviceId) here, if any. */
  function deviceSession(userId: string, deviceId: string): Session | undefined {
    const sessions = byUser.get(userId);
    if (sessions === undefined) return undefined;
    if (!Array.isArray(sessions)) return sessions.deviceId === deviceId ? sessions : undefined;
    return sessions.find((session) => session.deviceId === deviceId);
  }

  /** Every open session here, without a copy (do not close sessions while iterating: see allSessions). */
  function* eachSession(): Generator<Session> {
    for (const sessions of byUser.values()) {
      if (Array.isArray(sessions)) yield* sessions;
      else yield sessions;
    }
  }

  /** Every open session here (a copy: closing one while iterating is fine). */
  function allSessions(): Session[] {
    return [...eachSession()];
  }

  function addSession(session: Session): void {
    const sessions = byUser.get(session.userId);
    if (sessions === undefined) byUser.set(session.userId, session);
    else if (Array.isArray(sessions)) sessions.push(session);
    else byUser.set(session.userId, [sessions, session]);
    connectionCount++;
  }

  function errorFrame(session: Session, error: ChatmeshErrorLike, requestId?: string): void {
    metrics.gatewayFrameErrorsTotal.inc({ code: error.code });
    refusals.log(
      'info',
      error.code,
      { code: error.code, userId: session.userId, deviceId: session.deviceId, connectionId: session.connectionId },
      `a frame was refused: ${error.message}`,
    );
    sendFrames(session, [
      {
        type: 'error',
        code: error.code,
        message: error.message,
        retriable: error.retriable,
        ...(requestId === undefined ? {} : { requestId }),
      },
    ]);
  }

  /** Bad or rate-limited frames count against the connection; too many in a minute close it (4009). */
  function violation(session: Session): void {
    const now = Date.now();
    const window = (session.violations ??= { count: 0, startMs: now });
    if (now - window.startMs > 60_000) {
      window.startMs = now;
      window.count = 0;
    }
    window.count++;
    if (window.count > settings.maxViolationsPerMinute) {
      refusals.log(
        'warn',
        'close:4009',
        {
          userId: session.userId,
          deviceId: session.deviceId,
          connectionId: session.connectionId,
          violations: window.count,
        },
        'closed a connection for repeated protocol violations or rate abuse (4009)',
      );
      closeSession(session, CLOSE_CODES.POLICY);
    }
  }

  /** The user's shared bucket (Redis in stack mode), after the connection's own one let the frame in. */
  async function userWithinRate(session: Session): Promise<boolean> {
    try {
      return (await deps.userLimiter.take(session.userId)).allowed;
    } catch (error) {
      // Fail open: Redis trouble must not stop every conversation; the per-connection bucket still holds.
      logger.warn({ err: error }, 'the shared rate limiter failed; letting the frame through');
      return true;
    }
  }

  /** Takes a typing token of the connection; false when its bucket is empty. */
  function takeTypingToken(session: Session, nowMs: number): boolean {
    const bucket = (session.typing ??= {
      tokens: new TokenBucket({ ratePerSecond: settings.typingPerMinute / 60, burst: settings.typingBurst }, nowMs),
      refused: 0,
    });
    if (bucket.tokens.take(1, nowMs).allowed) return true;
    bucket.refused++;
    return false;
  }

  const localRequestId = (session: Session): string =>
    `${LOCAL_REQUEST_PREFIX}${session.connectionId}:${++session.requestCounter}`;

  /** The ack covered messages by other users: one DELIVERED report per chat, with the highest seq. */
  async function reportDelivered(session: Session, upToInboxSeq: number, atMs: number): Promise<void> {
    const byChat = session.stream.takeDelivered(upToInboxSeq);
    if (byChat === null) return;
    await Promise.all(
      [...byChat].map(async ([chatId, upToSeq]) => {
        const record = deliveredReport(session, chatId, upToSeq, atMs, localRequestId(session));
        try {
          await typed.send(record.topic, record.key, record.value);
          metrics.gatewayReceiptReportsTotal.inc({ kind: 'DELIVERED' });
        } catch (error) {
          // The device acked, so its cursor moved: this report is lost, but the next ack of the chat
          // reports a higher seq, which covers it (DELIVERED is a pointer).
          logger.warn({ err: error }, 'could not produce a DELIVERED report');
        }
      }),
    );
  }

  function rateLimited(session: Session): void {
    errorFrame(session, {
      code: 'CM_ERR_PROTOCOL_RATE_LIMITED',
      message: 'too many frames; slow down',
      retriable: true,
    });
    violation(session);
  }

  async function handleText(session: Session, text: string, receivedAtMs: number): Promise<void> {
    if (session.closed) return;
    // Every frame, valid or not, counts against the connection's own bucket (in memory) first.
    if (!(await deps.connectionLimiter.take(session.connectionId)).allowed) return rateLimited(session);
    let frame;
    try {
      frame = parseClientFrame(text);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      metrics.gatewayFramesInTotal.inc({ type: 'invalid' });
      errorFrame(session, error, error.requestId);
      violation(session);
      return;
    }
    metrics.gatewayFramesInTotal.inc({ type: frame.type });
    // Acks and pings are the device's own bookkeeping, as frequent as the messages it receives (each device of
    // a busy big group acks every few tens of milliseconds): the connection's bucket bounds them, and the
    // user's shared bucket (a Redis round trip in stack mode) is kept for frames that make others work.
    if (frame.type !== 'ack' && frame.type !== 'ping' && !(await userWithinRate(session))) return rateLimited(session);
    switch (frame.type) {
      case 'ping':
        sendFrames(session, [
          { type: 'pong', ...(frame.nonce === undefined ? {} : { nonce: frame.nonce }), serverTimeMs: Date.now() },
        ]);
        return;
      case 'ack': {
        // Never past what this socket sent: an ack beyond it would skip entries the device has not seen.
        const upTo = Math.min(frame.upToInboxSeq, session.stream.lastSent);
        // Acks repeat the inbox position while only broadcast chats move (the field is required): a write
        // per repeat would be a Cassandra write per device every few tens of milliseconds in a big group.
        if (upTo > session.stream.acked) {
          await store.cursors.advance(session.userId, session.deviceId, upTo);
          session.stream.markAcked(upTo);
          await reportDelivered(session, upTo, receivedAtMs);
        }
        if (frame.chats !== undefined) await ackChats(session, frame.chats, receivedAtMs);
        return;
      }
      case 'sync':
        if (frame.chats !== undefined) {
          await syncChats(session, frame.chats);
          if (frame.fromInboxSeq === undefined) return;
        }
        session.stream.sync(frame.fromInboxSeq ?? (await store.cursors.get(session.userId, session.deviceId)));
        return;
      case 'typing':
        if (!takeTypingToken(session, receivedAtMs)) {
          errorFrame(session, {
            code: 'CM_ERR_PROTOCOL_RATE_LIMITED',
            message: 'too many typing frames; send one every few seconds',
            retriable: true,
          });
          // A burst is refused quietly; a flood counts against the connection (every 10th refusal).
          if (session.typing!.refused % 10 === 0) violation(session);
          return;
        }
        break;
      default:
        break;
    }
    if (frame.type === 'send' && frame.envelopes !== undefined && frame.envelopes.length > 0) {
      const mismatch = await checkEnvelopeDevices(store, frame.chatId, session, frame.envelopes);
      if (mismatch !== null) return deviceListRefused(session, frame, mismatch);
    }
    const record = frameToRecord(frame, session, receivedAtMs, () => localRequestId(session));
    if (record) await produce(session, record);
  }

  /** A send whose envelopes miss or exceed the device lists: refused here, with the devices to fix. */
  function deviceListRefused(
    session: Session,
    frame: { requestId: string; chatId: string; clientMessageId: string },
    mismatch: DeviceListMismatch,
  ): void {
    const code = 'CM_ERR_E2E_DEVICE_LIST_MISMATCH';
    metrics.gatewayFrameErrorsTotal.inc({ code });
    sendFrames(session, [
      {
        type: 'reject',
        requestId: frame.requestId,
        chatId: frame.chatId,
        clientMessageId: frame.clientMessageId,
        code,
        message: "the envelopes do not match the recipients' current devices; fix the sessions and retry",
        retriable: true,
        missingDevices: mismatch.missingDevices,
        staleDevices: mismatch.staleDevices,
      },
    ]);
  }

  async function produce(session: Session, record: FrameRecord): Promise<void> {
    try {
      await typed.send(record.topic, record.key, record.value);
      counts.commandsProduced++;
      if (record.topic === TOPICS.receipts.name) metrics.gatewayReceiptReportsTotal.inc({ kind: 'READ' });
    } catch (error) {
      logger.warn({ err: error, topic: record.topic }, 'could not produce a client frame');
      errorFrame(
        session,
        isChatmeshError(error)
          ? error
          : { code: 'CM_ERR_COMMON_INTERNAL', message: 'the frame could not be forwarded; retry', retriable: true },
        record.requestId,
      );
    }
  }

  function removeSession(session: Session): void {
    const sessions = byUser.get(session.userId);
    if (sessions === session) {
      byUser.delete(session.userId);
    } else if (Array.isArray(sessions)) {
      const index = sessions.indexOf(session);
      if (index < 0) return;
      sessions.splice(index, 1);
      if (sessions.length === 1) byUser.set(session.userId, sessions[0]!);
    } else {
      return;
    }
    connectionCount--;
  }

  async function registerSession(session: Session): Promise<boolean> {
    return presence.registerDevice({
      userId: session.userId,
      deviceId: session.deviceId,
      gatewayId,
      connectionId: session.connectionId,
      ttlMs: settings.leaseTtlMs,
      gatewayInstanceId: instanceId,
    });
  }

  async function openSession(session: Session): Promise<void> {
    // Closed before its open ran (the client left, or uWS dropped it): nothing to register or announce.
    if (session.closed) return;
    // Registered before the cursor is read and the replay starts: an entry sequenced before the
    // registration is in the store (the sequencer stores, then routes), one after it is routed here.
    await registerSession(session);
    const cursor = await store.cursors.get(session.userId, session.deviceId);
    if (session.closed) return;
    sendFrames(session, [
      {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        userId: session.userId,
        deviceId: session.deviceId,
        cursor,
        serverTimeMs: Date.now(),
      },
    ]);
    helloSent(session);
    session.stream.start(cursor);
    // ONLINE only after hello: presence lists the device (and counts it against the device limit) once
    // it really had a session, and closedSession pairs each ONLINE with one OFFLINE.
    const online = deviceStatusEvent(session, 'ONLINE', Date.now(), settings.leaseTtlMs);
    void typed
      .send(online.topic, online.key, online.value)
      .catch((error: unknown) => logger.warn({ err: error }, 'could not produce a presence event'));
  }

  /** Upgrade → hello: the histogram, and a log line (a warning when slow). */
  function helloSent(session: Session): void {
    if (session.opening === null) return;
    const ms = performance.now() - session.opening.upgradedAtMs;
    session.opening = null;
    metrics.gatewayUpgradeToHelloSeconds.observe({ outcome: 'sent' }, ms / 1000);
    const fields = { connectionId: session.connectionId, upgradeToHelloMs: Math.round(ms * 10) / 10 };
    if (ms >= SLOW_HELLO_MS) logger.warn(fields, 'hello sent late after the upgrade');
    else logger.debug(fields, 'hello sent');
  }

  /**
   * The socket closed between the upgrade and its hello: the device saw 101 and never got a session. Its
   * `opening` stays set, which tells closedSession that no ONLINE went out (so no OFFLINE either).
   */
  function closedBeforeHello(session: Session, code: number): void {
    const ms = performance.now() - session.opening!.upgradedAtMs;
    metrics.gatewayUpgradeToHelloSeconds.observe({ outcome: 'closed' }, ms / 1000);
    logger.warn(
      {
        outcome: 'closed',
        closeCode: code,
        connectionId: session.connectionId,
        upgradeToCloseMs: Math.round(ms * 10) / 10,
      },
      'a socket closed after its upgrade and before its hello',
    );
  }

  async function closedSession(session: Session): Promise<void> {
    // Runs after the open (the socket's chain): `opening` still set means no hello and no ONLINE went out.
    const announced = session.opening === null;
    session.opening = null;
    try {
      await presence.unregisterDevice({
        userId: session.userId,
        deviceId: session.deviceId,
        connectionId: session.connectionId,
      });
    } catch (error) {
      logger.warn({ err: error }, 'could not unregister a device (its lease entry lapses by itself)');
    }
    if (!announced) return;
    const offline = deviceStatusEvent(session, 'OFFLINE', Date.now(), settings.leaseTtlMs);
    await typed
      .send(offline.topic, offline.key, offline.value)
      .catch((error: unknown) => logger.warn({ err: error }, 'could not produce a presence event'));
  }

  /**
   * The device-list check at the door (contract: presence, the list's writer, enforces it again when
   * two new devices race): a removed device, or a new one past the limit, is refused.
   */
  async function deviceRefusal(userId: string, deviceId: string): Promise<{ code: string; message: string } | null> {
    let devices;
    try {
      devices = await store.devices.list(userId);
    } catch (error) {
      // Fail open: presence registers the device and still enforces both rules (close 4011 / 4012).
      logger.warn({ err: error }, 'could not read the device list; letting the upgrade through');
      return null;
    }
    const known = devices.find((d) => d.deviceId === deviceId);
    if (known !== undefined && known.removedAtMs !== null) {
      return {
        code: 'CM_ERR_DEVICE_REMOVED',
        message: 'this device was removed from the account; sign in again as a new device',
      };
    }
    if (known === undefined && devices.filter((d) => d.removedAtMs === null).length >= deps.maxDevicesPerUser) {
      return {
        code: 'CM_ERR_DEVICE_LIMIT',
        message: `the account already has ${deps.maxDevicesPerUser} devices; remove one first (DELETE /v1/devices/<id>)`,
      };
    }
    return null;
  }

  app.ws<UserData>('/v1/ws', {
    // uWS drops a socket whose frame exceeds its limit without a close frame (the client sees 1006), so
    // its hard cap sits above ours and frames between the two are closed properly with 1009 below.
    maxPayloadLength: settings.maxFrameBytes * 2,
    // uWS drops frames past its own limit; ours (checked after each send) closes first with 4008.
    maxBackpressure: settings.maxBackpressureBytes * 2 + settings.maxFrameBytes,
    // Broadcast frames go out through uWS pub/sub, past our own check: a socket that reaches uWS's limit
    // is closed rather than silently losing a frame, and resumes from its positions.
    closeOnBackpressureLimit: 1,
    idleTimeout: settings.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const state = pending(res);
      const handshake = readHandshake(req, context);
      const token = bearerToken(req);
      void (async () => {
        if (status !== 'ready' && status !== 'starting') {
          return sendJson(state, 503, {
            code: 'CM_ERR_COMMON_SHUTTING_DOWN',
            message: 'the gateway is draining; reconnect elsewhere',
          });
        }
        if (token === null) {
          metrics.gatewayAuthFailuresTotal.inc({ code: 'CM_ERR_AUTH_MISSING_TOKEN' });
          return sendJson(state, 401, {
            code: 'CM_ERR_AUTH_MISSING_TOKEN',
            message: 'no bearer token (Authorization header or access_token)',
          });
        }
        let verified;
        try {
          verified = await deps.verifier.verify(token);
        } catch (error) {
          const code = isChatmeshError(error) ? error.code : 'CM_ERR_AUTH_INVALID_TOKEN';
          metrics.gatewayAuthFailuresTotal.inc({ code });
          return sendJson(state, 401, { code, message: error instanceof Error ? error.message : 'invalid token' });
        }
        if (state.aborted) return;
        const refusal = await deviceRefusal(verified.userId, verified.deviceId);
        if (refusal !== null) {
          metrics.gatewayAuthFailuresTotal.inc({ code: refusal.code });
          return sendJson(state, 403, refusal);
        }
        if (state.aborted) return;
        const session = new Session(hub, verified.userId, verified.deviceId, ++connectionNumber);
        session.expirySlot = expiries.slotOf(verified.expiresAtMs);
        session.opening = { upgradedAtMs: performance.now() };
        // Uncorked on purpose: see upgradeAfterAwait (uWS's cork() could close the new socket).
        upgradeAfterAwait<UserData>(state, { session }, handshake);
      })().catch((error: unknown) => {
        logger.error({ err: error }, 'upgrade failed');
        sendJson(state, 500, { code: 'CM_ERR_COMMON_INTERNAL', message: 'upgrade failed' });
      });
    },
    open: (ws) => {
      const { session } = ws.getUserData();
      session.ws = ws;
      const previous = deviceSession(session.userId, session.deviceId);
      if (previous) {
        closeSession(previous, CLOSE_CODES.REPLACED);
        // end() ran its close handler, which removed it; a session that never got its socket is dropped here.
        removeSession(previous);
      }
      addSession(session);
      metrics.gatewayConnectionsOpen.inc();
      counts.connectionsOpened++;
      if (session.expirySlot >= 0) session.expirySlot = expiries.add(session, session.expirySlot);
      void track(session.runInOrder(() => openSession(session), onOpenFailed(session)));
    },
    message: (ws, message, isBinary) => {
      const { session } = ws.getUserData();
      const receivedAtMs = Date.now();
      if (message.byteLength > settings.maxFrameBytes) {
        metrics.gatewayFrameErrorsTotal.inc({ code: 'CM_ERR_PROTOCOL_FRAME_TOO_LARGE' });
        closeSession(session, CLOSE_CODES.TOO_BIG);
        return;
      }
      if (isBinary) {
        metrics.gatewayFramesInTotal.inc({ type: 'invalid' });
        errorFrame(session, {
          code: 'CM_ERR_PROTOCOL_MALFORMED',
          message: 'binary frames are not accepted: send JSON text frames',
          retriable: false,
        });
        violation(session);
        return;
      }
      // uWS reuses the buffer after this callback: decode it now.
      const text = Buffer.from(message).toString('utf8');
      // Frames of one socket are handled in order (a send may wait on the shared rate limiter).
      void session.runInOrder(() => handleText(session, text, receivedAtMs), onFrameFailed(session));
    },
    close: (ws, code, message) => {
      const { session } = ws.getUserData();
      if (code === 1006 && message.byteLength > 0) {
        // uWebSockets.js drops a socket itself (no close frame: the client sees 1006) for a text frame that is not
        // UTF-8 (RFC 6455 asks for 1007) or a frame past its hard size cap: it validates before the gateway sees
        // the frame, so the gateway can only count and log it (docs/protocol.md, "Frames").
        const reason = Buffer.from(message).toString('utf8');
        const errorCode = /utf-?8/i.test(reason) ? 'CM_ERR_PROTOCOL_MALFORMED' : 'CM_ERR_PROTOCOL_FRAME_TOO_LARGE';
        metrics.gatewayFrameErrorsTotal.inc({ code: errorCode });
        refusals.log(
          'info',
          `drop:${errorCode}`,
          {
            code: errorCode,
            reason,
            userId: session.userId,
            deviceId: session.deviceId,
            connectionId: session.connectionId,
          },
          'the WebSocket library dropped a connection for a bad frame',
        );
      }
      if (session.opening !== null) closedBeforeHello(session, code);
      session.closed = true;
      session.ws = null;
      session.stream.close();
      broadcast.closed(session);
      void track(chatPositions.flushOwner(session));
      if (session.expirySlot >= 0) expiries.remove(session, session.expirySlot);
      session.expirySlot = -1;
      removeSession(session);
      metrics.gatewayConnectionsOpen.dec();
      logger.debug({ code }, 'connection closed');
      // After the open's registration, so a fast close cannot unregister before it registers.
      void track((session.chain ?? Promise.resolve()).then(() => closedSession(session)));
    },
  });

  /** A failed open closes its socket (the device reconnects). One function per call, made only at open. */
  function onOpenFailed(session: Session): (error: unknown) => void {
    return (error) => {
      logger.warn({ err: error }, 'could not open a session; closing it');
      closeSession(session, CLOSE_CODES.GOING_AWAY);
    };
  }

  function onFrameFailed(session: Session): (error: unknown) => void {
    return (error) => {
      logger.warn({ err: error }, 'a client frame failed');
      if (!session.closed) {
        errorFrame(
          session,
          isChatmeshError(error)
            ? error
            : { code: 'CM_ERR_COMMON_INTERNAL', message: 'internal error; retry', retriable: true },
        );
      }
    };
  }

  function handleDelivery(delivery: GatewayDelivery): void {
    counts.deliveries++;
    let targets: readonly Session[];
    if (delivery.deviceId !== null) {
      const session = deviceSession(delivery.userId, delivery.deviceId);
      targets = session ? [session] : [];
    } else {
      const sessions = byUser.get(delivery.userId);
      // A copy: sending may close a session, which edits the user's array.
      targets = sessions === undefined ? [] : Array.isArray(sessions) ? [...sessions] : [sessions];
    }
    if (targets.length === 0) {
      // Not connected here (any more): the entry is in the store; the device replays it from its cursor.
      metrics.gatewayDeliveriesDroppedTotal.inc({ reason: 'not_connected' });
      return;
    }
    const payload = delivery.payload;
    for (const session of targets) {
      if ('chatmesh.gateway.InboxDelivery' in payload) {
        session.stream.deliver(payload['chatmesh.gateway.InboxDelivery']);
      } else if ('chatmesh.gateway.CommandResult' in payload) {
        const result = payload['chatmesh.gateway.CommandResult'];
        if (result.requestId.startsWith(LOCAL_REQUEST_PREFIX)) {
          // A refused frame that carries no request id of the client's (read, typing): an error frame.
          errorFrame(session, {
            code: result.reason?.code ?? 'CM_ERR_COMMON_INTERNAL',
            message: result.reason?.message ?? 'refused',
            retriable: result.reason?.retriable ?? false,
          });
          continue;
        }
        sendFrames(session, [
          result.accepted
            ? {
                type: 'ack',
                requestId: result.requestId,
                chatId: result.chatId,
                clientMessageId: result.clientMessageId,
                seq: result.seq ?? 0,
                serverTimeMs: result.serverTimeMs ?? 0,
              }
            : {
                type: 'reject',
                requestId: result.requestId,
                chatId: result.chatId,
                clientMessageId: result.clientMessageId,
                code: result.reason?.code ?? 'CM_ERR_COMMON_INTERNAL',
                message: result.reason?.message ?? 'rejected',
                retriable: result.reason?.retriable ?? false,
              },
        ]);
      } else if ('chatmesh.gateway.TypingNotice' in payload) {
        const notice = payload['chatmesh.gateway.TypingNotice'];
        sendFrames(session, [
          {
            type: 'typing',
            chatId: notice.chatId,
            userId: notice.typingUserId,
            typing: notice.typing,
            expiresAtMs: notice.expiresAtMs,
          },
        ]);
      } else if ('chatmesh.gateway.PresenceNotice' in payload) {
        const notice = payload['chatmesh.gateway.PresenceNotice'];
        sendFrames(session, [
          { type: 'presence', userId: notice.subjectUserId, online: notice.online, lastSeenMs: notice.lastSeenMs },
        ]);
      } else if ('chatmesh.gateway.IdentityKeyNotice' in payload) {
        const notice = payload['chatmesh.gateway.IdentityKeyNotice'];
        sendFrames(session, [
          {
            type: 'identityKeyChanged',
            userId: notice.subjectUserId,
            deviceId: notice.deviceId,
            identityKey: Buffer.from(notice.identityKey).toString('base64'),
            atMs: notice.atMs,
          },
        ]);
      } else if ('chatmesh.receipts.MessageStatusUpdate' in payload) {
        sendFrames(session, [renderStatusUpdate(payload['chatmesh.receipts.MessageStatusUpdate'])]);
      } else {
        const control = payload['chatmesh.gateway.SessionControl'];
        logger.info({ reasonCode: control.reasonCode }, 'presence ended a session');
        closeSession(
          session,
          control.reasonCode === 'CM_ERR_DEVICE_LIMIT' ? CLOSE_CODES.DEVICE_LIMIT : CLOSE_CODES.DEVICE_REMOVED,
        );
      }
    }
  }

  const devTokensOn = devTokensEnabled(deps.mode, settings.devTokens, settings.host);
  registerHttpApi(app, {
    mode: deps.mode,
    settings,
    verifier: deps.verifier,
    store,
    renderer,
    logger,
    metrics,
    gatewayId,
    presence,
    maxDevicesPerUser: deps.maxDevicesPerUser,
    produce: async (record) => {
      await typed.send(record.topic, record.key, record.value);
    },
    ...(deps.chatPage ? { chatPage: deps.chatPage } : {}),
    ...(deps.attachments ? { attachments: deps.attachments } : {}),
    onIdentityChanged: createIdentityNotifier({
      store,
      presence,
      deliver: async (topic, key, value) => {
        await typed.send(topic, key, value);
      },
    }),
  });

  const deliveriesTopic = gatewayDeliveriesTopic(gatewayId).name;
  let subscription: Subscription | null = null;
  let broadcastSubscription: Subscription | null = null;
  const port = await new Promise<number>((resolve, reject) => {
    app.listen(settings.host, settings.port, (socket) => {
      if (!socket) {
        reject(
          new GatewayError('CM_ERR_GATEWAY_LISTEN_FAILED', `could not listen on ${settings.host}:${settings.port}`, {
            context: { host: settings.host, port: settings.port },
          }),
        );
        return;
      }
      listenSocket = socket;
      resolve(uWS.us_socket_local_port(socket as unknown as us_socket));
    });
  });

  try {
    subscription = await typed.subscribe({
      // Its own group per gateway id: a restarted gateway resumes its topic where its predecessor stopped.
      groupId: `chatmesh.gateway.${gatewayId}`,
      topics: [deliveriesTopic],
      handler: async (delivery) => handleDelivery(delivery),
    });
    broadcastSubscription = await typed.subscribe({
      // Every gateway reads all of chat.broadcast (its own group); a new gateway has no device in any chat yet,
      // so it starts at the end, and devices catch up from the chat log when they join.
      groupId: `chatmesh.gateway.${gatewayId}.broadcast`,
      topics: [TOPICS.chatBroadcast.name],
      fromBeginning: false,
      partitionsConcurrently: TOPICS.chatBroadcast.partitions,
      // Keyed by chat: one chat's events in order, chats side by side.
      keyConcurrency: 64,
      handler: (event) => broadcast.onEvent(event),
    });
  } catch (error) {
    await subscription?.stop();
    if (listenSocket) uWS.us_listen_socket_close(listenSocket);
    throw error;
  }
  void Promise.all([subscription.ready, broadcastSubscription.ready]).then(() => {
    consumerReady = true;
    if (status === 'starting') status = 'ready';
  });

  const heartbeat = setInterval(
    () => {
      void track(renewLease()).catch((error: unknown) => logger.warn({ err: error }, 'gateway lease renewal failed'));
    },
    Math.max(100, Math.floor(settings.leaseTtlMs / 3)),
  );
  heartbeat.unref();

  async function renewLease(): Promise<void> {
    if (status === 'draining' || status === 'stopped' || status === 'failed') return;
    const result = await presence.refreshGateway({ gatewayId, instanceId, ttlMs: settings.leaseTtlMs });
    counts.leaseRenewals++;
    const sessions = allSessions().filter((s) => !s.closed);
    if (result === 'lost') {
      // Another process runs with our gateway id: its deliveries are not ours to serve any more.
      logger.error({ code: 'CM_ERR_GATEWAY_LEASE_LOST', gatewayId }, 'another instance took this gateway id over');
      status = 'failed';
      for (const session of sessions) closeSession(session, CLOSE_CODES.SERVICE_RESTART);
      return;
    }
    if (result === 'missing') await presence.acquireGateway({ gatewayId, instanceId, ttlMs: settings.leaseTtlMs });
    const alive =
      result === 'missing'
        ? sessions.map(() => false)
        : await presence.refreshDevices(
            sessions.map((s) => ({
              userId: s.userId,
              deviceId: s.deviceId,
              connectionId: s.connectionId,
              ttlMs: settings.leaseTtlMs,
            })),
          );
    for (const [index, session] of sessions.entries()) {
      if (!alive[index] && !session.closed) await registerSession(session);
    }
  }

  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  logger.info({ url, gatewayId, instanceId, topic: deliveriesTopic }, 'gateway listening');
  if (devTokensOn) {
    logger.warn(
      { url: `${url}/v1/dev/token`, host: settings.host, setting: settings.devTokens },
      'development tokens are served: anyone who reaches this address can act as any user (development only)',
    );
  }

  const gateway: Gateway = {
    url,
    port,
    async stop() {
      if (status === 'stopped') return;
      status = 'draining';
      clearInterval(heartbeat);
      expiries.stop();
      if (listenSocket) {
        uWS.us_listen_socket_close(listenSocket);
        listenSocket = null;
      }
      const reconnect: ServerFrame = {
        type: 'reconnect',
        code: 'CM_ERR_COMMON_SHUTTING_DOWN',
        retryAfterMs: settings.drainRetryAfterMs,
      };
      for (const session of allSessions()) {
        sendFrames(session, [reconnect]);
        closeSession(session, CLOSE_CODES.SERVICE_RESTART);
      }
      await Promise.all([subscription?.stop(), broadcastSubscription?.stop()]);
      await Promise.allSettled([...pendingWork]);
      await chatPositions.stop();
      try {
        await presence.releaseGateway({ gatewayId, instanceId });
      } catch (error) {
        logger.warn({ err: error }, 'could not release the gateway lease (it lapses by itself)');
      }
      await Promise.allSettled([deps.connectionLimiter.close(), deps.userLimiter.close()]);
      status = 'stopped';
    },
    health() {
      let held = 0;
      let replaying = 0;
      for (const session of eachSession()) {
        held += session.stream.heldCount;
        if (session.stream.replaying) replaying++;
      }
      return {
        status,
        ready: status === 'ready' && consumerReady,
        details: {
          url,
          devTokens: devTokensOn,
          gatewayId,
          instanceId,
          connections: connectionCount,
          replaying,
          heldDeliveries: held,
          broadcastSubscriptions: broadcast.subscriptions,
          ...counts,
        },
      };
    },
  };
  return gateway;
}

/** The shape of an error sent in an `error` frame. */
interface ChatmeshErrorLike {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}
