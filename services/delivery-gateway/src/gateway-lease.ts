import type { Logger } from '@chatmesh/logging';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import { CLOSE_CODES } from '@chatmesh/protocol';
import type { PendingWork } from './internal/pending-work.js';
import type { SessionLifecycle } from './session-lifecycle.js';
import type { SessionOutput } from './session-output.js';
import type { SessionRegistry } from './session-registry.js';

/** What {@link GatewayLease} needs. */
export interface GatewayLeaseDeps {
  readonly gatewayId: string;
  readonly instanceId: string;
  readonly ttlMs: number;
  readonly presence: PresenceRegistry;
  readonly sessions: SessionRegistry;
  readonly output: SessionOutput;
  readonly lifecycle: SessionLifecycle;
  readonly logger: Logger;
  readonly work: PendingWork;
  /** False while the gateway drains, after it stopped or failed: the heartbeat then renews nothing. */
  renewing(): boolean;
  /** Another process took this gateway id over: the gateway has failed (its sockets are closed here). */
  onLost(): void;
  /** Counted for `health()`. */
  readonly counts: { leaseRenewals: number };
}

/**
 * This process's lease on its gateway id in the presence registry, and its devices' registrations: a heartbeat
 * every third of the TTL renews both, re-registers devices whose entry lapsed, and closes every socket (1012)
 * when another instance took the id over.
 */
export class GatewayLease {
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly deps: GatewayLeaseDeps) {}

  /** Takes the lease. First of all: devices registered before it would be bound to no live instance. */
  async acquire(): Promise<void> {
    const { presence, gatewayId, instanceId, ttlMs } = this.deps;
    await presence.acquireGateway({ gatewayId, instanceId, ttlMs });
  }

  startHeartbeat(): void {
    const { logger, work, ttlMs } = this.deps;
    this.heartbeat = setInterval(
      () => {
        void work
          .track(this.renew())
          .catch((error: unknown) => logger.warn({ err: error }, 'gateway lease renewal failed'));
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Gives the lease up (at stop); if that fails it lapses by itself. */
  async release(): Promise<void> {
    const { presence, gatewayId, instanceId, logger } = this.deps;
    try {
      await presence.releaseGateway({ gatewayId, instanceId });
    } catch (error) {
      logger.warn({ err: error }, 'could not release the gateway lease (it lapses by itself)');
    }
  }

  private async renew(): Promise<void> {
    if (!this.deps.renewing()) return;
    const { presence, gatewayId, instanceId, ttlMs, logger, output } = this.deps;
    const result = await presence.refreshGateway({ gatewayId, instanceId, ttlMs });
    this.deps.counts.leaseRenewals++;
    const sessions = this.deps.sessions.all().filter((s) => !s.closed);
    if (result === 'lost') {
      // Another process runs with our gateway id: its deliveries are not ours to serve any more.
      logger.error({ code: 'CM_ERR_GATEWAY_LEASE_LOST', gatewayId }, 'another instance took this gateway id over');
      this.deps.onLost();
      for (const session of sessions) output.close(session, CLOSE_CODES.SERVICE_RESTART);
      return;
    }
    if (result === 'missing') await presence.acquireGateway({ gatewayId, instanceId, ttlMs });
    const alive =
      result === 'missing'
        ? sessions.map(() => false)
        : await presence.refreshDevices(
            sessions.map((s) => ({
              userId: s.userId,
              deviceId: s.deviceId,
              connectionId: s.connectionId,
              ttlMs,
            })),
          );
    for (const [index, session] of sessions.entries()) {
      if (!alive[index] && !session.closed) await this.deps.lifecycle.register(session);
    }
  }
}
