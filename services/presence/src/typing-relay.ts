import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { OnlineDevice, PresenceRegistry } from '@chatmesh/presence-registry';
import type { RateLimiter } from '@chatmesh/rate-limit';
import type { EphemeralEvent } from '@chatmesh/schemas';
import { BoundedLruMap } from '@chatmesh/lru';
import type { Deliver } from './deliveries.js';
import type { MembershipView } from './membership-view.js';
import type { PRESENCE_METRICS } from './metrics.js';

/** The requestId of typing rejections: `local:` makes the gateway render them as `error` frames (contract 2). */
export const TYPING_REQUEST_ID = 'local:typing';

/** What happened to one typing indicator. */
export type TypingOutcome = 'relayed' | 'stale' | 'not_a_member' | 'rate_limited';

export interface TypingRelayDeps {
  readonly registry: PresenceRegistry;
  readonly membership: MembershipView;
  /** Per (user, chat) buckets; `ephemeral` is keyed by chat id, so one instance owns a chat's buckets. */
  readonly limiter: RateLimiter;
  readonly deliver: Deliver;
  readonly logger: Logger;
  readonly metrics: MetricInstruments<typeof PRESENCE_METRICS>;
}

export interface TypingRelay {
  relay(event: EphemeralEvent): Promise<{ outcome: TypingOutcome; deliveries: number }>;
}

/**
 * Relays typing indicators (contract 7): checks the sender is a current member (else an `error` for its
 * device, CM_ERR_PRESENCE_NOT_A_MEMBER), drops those already expired, limits each (user, chat) (a stop
 * after a relayed start always passes, so nobody is left "typing…"), and sends one TypingNotice per other
 * member and gateway holding that member's online devices (deviceId null: all of them there). Never stored.
 */
export function createTypingRelay(
  deps: TypingRelayDeps,
  options: { clock?: () => number; maxTrackedPairs?: number } = {},
): TypingRelay {
  const { registry, membership, limiter, deliver, metrics } = deps;
  const clock = options.clock ?? Date.now;
  const maxTracked = options.maxTrackedPairs ?? 100_000;
  /** The last relayed state per (user, chat), LRU by insertion order. */
  const relayedTyping = new BoundedLruMap<string, boolean>(maxTracked);

  function remember(key: string, typing: boolean): void {
    relayedTyping.set(key, typing);
  }

  return {
    async relay(event) {
      const { chatId, userId, deviceId, gatewayId, atMs } = event;
      const { typing, ttlMs } = event.signal;
      const expiresAtMs = atMs + ttlMs;
      const nowMs = clock();
      if (expiresAtMs <= nowMs) {
        metrics.presenceTypingTotal.inc({ outcome: 'stale' });
        return { outcome: 'stale', deliveries: 0 };
      }
      const members = await membership.membersOf(chatId);
      if (!members.includes(userId)) {
        metrics.presenceTypingTotal.inc({ outcome: 'not_a_member' });
        await deliver({
          gatewayId,
          userId,
          deviceId,
          createdAtMs: nowMs,
          payload: {
            'chatmesh.gateway.CommandResult': {
              requestId: TYPING_REQUEST_ID,
              chatId,
              clientMessageId: null,
              accepted: false,
              seq: null,
              serverTimeMs: null,
              reason: {
                code: 'CM_ERR_PRESENCE_NOT_A_MEMBER',
                message: 'typing refused: you are not a member of this chat',
                retriable: false,
              },
            },
          },
        });
        return { outcome: 'not_a_member', deliveries: 0 };
      }
      const key = JSON.stringify([userId, chatId]);
      const stopAfterStart = !typing && relayedTyping.peek(key) === true;
      if (!stopAfterStart && !(await limiter.take(key, 1, nowMs)).allowed) {
        metrics.presenceTypingTotal.inc({ outcome: 'rate_limited' });
        return { outcome: 'rate_limited', deliveries: 0 };
      }
      remember(key, typing);
      const others = members.filter((m) => m !== userId);
      const online: Map<string, OnlineDevice[]> =
        others.length === 0 ? new Map() : await registry.onlineDevicesOfUsers(others);
      const sends: Promise<boolean>[] = [];
      for (const [recipient, devices] of online) {
        for (const gateway of new Set(devices.map((d) => d.gatewayId))) {
          sends.push(
            deliver({
              gatewayId: gateway,
              userId: recipient,
              deviceId: null,
              createdAtMs: nowMs,
              payload: { 'chatmesh.gateway.TypingNotice': { chatId, typingUserId: userId, typing, expiresAtMs } },
            }),
          );
        }
      }
      const deliveries = (await Promise.all(sends)).filter(Boolean).length;
      metrics.presenceTypingTotal.inc({ outcome: 'relayed' });
      metrics.presenceTypingDeliveriesTotal.inc(deliveries);
      return { outcome: 'relayed', deliveries };
    },
  };
}
