import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import { CLOSE_CODES, PROTOCOL_VERSION } from '@chatmesh/protocol';
import type { TypedTopics } from '@chatmesh/runtime';
import type { ChatStore } from '@chatmesh/store';
import type { BroadcastFollows } from './broadcast-follows.js';
import type { ExpiryWheel } from './expiry-wheel.js';
import { deviceStatusEvent } from './frame-commands.js';
import type { PendingWork } from './internal/pending-work.js';
import type { GATEWAY_METRICS } from './metrics.js';
import { Session, type SessionHub } from './session.js';
import type { SessionOutput } from './session-output.js';
import type { SessionRegistry } from './session-registry.js';

/** A `hello` later than this after the upgrade is logged as a warning (clients give up on the order of seconds). */
const SLOW_HELLO_MS = 1000;

/** What {@link SessionLifecycle} needs. */
export interface SessionLifecycleDeps {
  readonly gatewayId: string;
  /** This process's lease on the gateway id (a UUID per start). */
  readonly instanceId: string;
  readonly leaseTtlMs: number;
  readonly hub: SessionHub;
  readonly store: ChatStore;
  readonly presence: PresenceRegistry;
  readonly typed: TypedTopics;
  readonly logger: Logger;
  readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
  readonly sessions: SessionRegistry;
  readonly output: SessionOutput;
  readonly follows: BroadcastFollows;
  /** Closes sockets whose token expired. */
  readonly expiries: ExpiryWheel<Session>;
  readonly work: PendingWork;
  /** Counted for `health()`. */
  readonly counts: { connectionsOpened: number };
}

/**
 * A session from its upgrade to its close: registration in presence before the cursor is read, `hello`, the
 * inbox replay, ONLINE / OFFLINE (paired: a socket that never got its hello announces neither), replacement of
 * the same device's older socket (4010), and the bookkeeping at close.
 */
export class SessionLifecycle {
  private connectionNumber = 0;

  constructor(private readonly deps: SessionLifecycleDeps) {}

  /** The session of an upgrade that passed its checks; its socket is attached by {@link opened}. */
  create(userId: string, deviceId: string, tokenExpiresAtMs: number): Session {
    const session = new Session(this.deps.hub, userId, deviceId, ++this.connectionNumber);
    session.expirySlot = this.deps.expiries.slotOf(tokenExpiresAtMs);
    session.opening = { upgradedAtMs: performance.now() };
    return session;
  }

  /** uWS opened the session's socket (`ws` is set). */
  opened(session: Session): void {
    const { sessions, output, expiries } = this.deps;
    const previous = sessions.deviceSession(session.userId, session.deviceId);
    if (previous) {
      output.close(previous, CLOSE_CODES.REPLACED);
      // end() ran its close handler, which removed it; a session that never got its socket is dropped here.
      sessions.remove(previous);
    }
    sessions.add(session);
    this.deps.metrics.gatewayConnectionsOpen.inc();
    this.deps.counts.connectionsOpened++;
    if (session.expirySlot >= 0) session.expirySlot = expiries.add(session, session.expirySlot);
    void this.deps.work.track(session.runInOrder(() => this.openSession(session), this.onOpenFailed(session)));
  }

  /** uWS closed the session's socket (its close handler; the WebSocket is gone after it). */
  closed(session: Session, code: number): void {
    const { expiries } = this.deps;
    if (session.opening !== null) this.closedBeforeHello(session, code);
    session.closed = true;
    session.ws = null;
    session.stream.close();
    this.deps.follows.closed(session);
    if (session.expirySlot >= 0) expiries.remove(session, session.expirySlot);
    session.expirySlot = -1;
    this.deps.sessions.remove(session);
    this.deps.metrics.gatewayConnectionsOpen.dec();
    this.deps.logger.debug({ code }, 'connection closed');
    // After the open's registration, so a fast close cannot unregister before it registers.
    void this.deps.work.track((session.chain ?? Promise.resolve()).then(() => this.closedSession(session)));
  }

  /** Registers the session's device in presence, bound to this gateway and its lease. */
  async register(session: Session): Promise<boolean> {
    return this.deps.presence.registerDevice({
      userId: session.userId,
      deviceId: session.deviceId,
      gatewayId: this.deps.gatewayId,
      connectionId: session.connectionId,
      ttlMs: this.deps.leaseTtlMs,
      gatewayInstanceId: this.deps.instanceId,
    });
  }

  private async openSession(session: Session): Promise<void> {
    // Closed before its open ran (the client left, or uWS dropped it): nothing to register or announce.
    if (session.closed) return;
    const { store, output, typed, logger } = this.deps;
    // Registered before the cursor is read and the replay starts: an entry sequenced before the
    // registration is in the store (the sequencer stores, then routes), one after it is routed here.
    await this.register(session);
    const cursor = await store.cursors.get(session.userId, session.deviceId);
    if (session.closed) return;
    output.sendFrames(session, [
      {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        userId: session.userId,
        deviceId: session.deviceId,
        cursor,
        serverTimeMs: Date.now(),
      },
    ]);
    this.helloSent(session);
    session.stream.start(cursor);
    // ONLINE only after hello: presence lists the device (and counts it against the device limit) once
    // it really had a session, and closedSession pairs each ONLINE with one OFFLINE.
    const online = deviceStatusEvent(session, 'ONLINE', Date.now(), this.deps.leaseTtlMs);
    void typed
      .send(online.topic, online.key, online.value)
      .catch((error: unknown) => logger.warn({ err: error }, 'could not produce a presence event'));
  }

  /** A failed open closes its socket (the device reconnects). One function per call, made only at open. */
  private onOpenFailed(session: Session): (error: unknown) => void {
    return (error) => {
      this.deps.logger.warn({ err: error }, 'could not open a session; closing it');
      this.deps.output.close(session, CLOSE_CODES.GOING_AWAY);
    };
  }

  /** Upgrade → hello: the histogram, and a log line (a warning when slow). */
  private helloSent(session: Session): void {
    if (session.opening === null) return;
    const ms = performance.now() - session.opening.upgradedAtMs;
    session.opening = null;
    this.deps.metrics.gatewayUpgradeToHelloSeconds.observe({ outcome: 'sent' }, ms / 1000);
    const fields = { connectionId: session.connectionId, upgradeToHelloMs: Math.round(ms * 10) / 10 };
    if (ms >= SLOW_HELLO_MS) this.deps.logger.warn(fields, 'hello sent late after the upgrade');
    else this.deps.logger.debug(fields, 'hello sent');
  }

  /**
   * The socket closed between the upgrade and its hello: the device saw 101 and never got a session. Its
   * `opening` stays set, which tells closedSession that no ONLINE went out (so no OFFLINE either).
   */
  private closedBeforeHello(session: Session, code: number): void {
    const ms = performance.now() - session.opening!.upgradedAtMs;
    this.deps.metrics.gatewayUpgradeToHelloSeconds.observe({ outcome: 'closed' }, ms / 1000);
    this.deps.logger.warn(
      {
        outcome: 'closed',
        closeCode: code,
        connectionId: session.connectionId,
        upgradeToCloseMs: Math.round(ms * 10) / 10,
      },
      'a socket closed after its upgrade and before its hello',
    );
  }

  private async closedSession(session: Session): Promise<void> {
    const { presence, typed, logger } = this.deps;
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
    const offline = deviceStatusEvent(session, 'OFFLINE', Date.now(), this.deps.leaseTtlMs);
    await typed
      .send(offline.topic, offline.key, offline.value)
      .catch((error: unknown) => logger.warn({ err: error }, 'could not produce a presence event'));
  }
}
