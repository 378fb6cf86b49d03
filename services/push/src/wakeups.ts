import { ChatmeshError } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { PushRequest } from '@chatmesh/schemas';
import type { PushChannelProvider, PushChannelRecord, PushChannelStore } from '@chatmesh/store';
import { BoundedLruMap } from '@chatmesh/lru';
import type { DeliveryOutcome } from './delivery.js';
import type { PUSH_METRICS } from './metrics.js';
import type { PushProviderAdapter, WakeUp } from './providers/types.js';

/** Which devices of a user are connected (the presence registry answers it). */
export interface OnlineDevices {
  onlineDevices(userId: string): Promise<ReadonlyArray<{ readonly deviceId: string }>>;
}

/** What one request did, per device. */
export interface WakeUpOutcome {
  readonly sent: readonly string[];
  readonly coalesced: readonly string[];
  readonly online: readonly string[];
  readonly removed: readonly string[];
  readonly disabled: readonly string[];
}

/** Remembered (device, chat) wake-ups at most; the oldest are forgotten first (they only cost a spare wake-up). */
const MAX_WINDOWS = 200_000;

/**
 * Turns a `PushRequest` into wake-ups: the user's channels (all, or the request's targets), minus devices that are
 * online and devices woken for the same chat within the coalesce window; each is sent through its provider with
 * retries; a channel the provider calls dead is deleted (exactly the registration that was used, so a token
 * refreshed meanwhile stays). When any device's provider kept failing or refused, the request fails with
 * CM_ERR_PUSH_PROVIDER_UNAVAILABLE / _REJECTED after the others were served, and the bus parks it on
 * `push.requests.dlq` (not retriable: the retries already happened here).
 *
 * The window is in-process state: after a restart or a rebalance, a re-consumed request wakes its devices again,
 * at most once more per window (push is at least once).
 */
export function createWakeUpProcessor(deps: {
  channels: PushChannelStore;
  presence: OnlineDevices;
  providers: ReadonlyMap<PushChannelProvider, PushProviderAdapter>;
  disabled: ReadonlyMap<PushChannelProvider, string>;
  deliver: (
    provider: PushProviderAdapter,
    channel: PushChannelRecord['channel'],
    wakeUp: WakeUp,
  ) => Promise<DeliveryOutcome>;
  coalesceWindowMs: number;
  metrics: MetricInstruments<typeof PUSH_METRICS>;
  logger: Logger;
  clock?: () => number;
}): { process(request: PushRequest): Promise<WakeUpOutcome> } {
  const { channels, presence, providers, disabled, deliver, metrics, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const lastWoken = new BoundedLruMap<string, number>(MAX_WINDOWS);
  const warnedDisabled = new Set<string>();

  function recentlyWoken(key: string, now: number): boolean {
    const at = lastWoken.peek(key);
    if (at === undefined) return false;
    if (now - at < deps.coalesceWindowMs) return true;
    lastWoken.delete(key);
    return false;
  }

  function remember(key: string, now: number): void {
    lastWoken.set(key, now);
  }

  async function storeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new ChatmeshError('CM_ERR_PUSH_STORE_UNAVAILABLE', `could not ${what}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  return {
    async process(request) {
      const userId = request.userId;
      const targets = new Set(request.targets.map((t) => t.deviceId));
      const all = await storeCall('read the push channels', () => channels.list(userId));
      const chosen = targets.size === 0 ? all : all.filter((c) => targets.has(c.deviceId));
      const outcome = {
        sent: [] as string[],
        coalesced: [] as string[],
        online: [] as string[],
        removed: [] as string[],
        disabled: [] as string[],
      };
      if (chosen.length === 0) return outcome;
      const connected = new Set(
        (
          await presence.onlineDevices(userId).catch((error: unknown) => {
            // As fan-out: without presence, wake every device rather than none.
            logger.warn({ err: error, userId }, 'presence registry unavailable: waking every device with a channel');
            return [] as ReadonlyArray<{ deviceId: string }>;
          })
        ).map((d) => d.deviceId),
      );
      const now = clock();
      const collapseKey = request.chatId === null ? 'chatmesh' : `chat:${request.chatId}`;
      const failures: Array<{ deviceId: string; provider: string; kind: 'rejected' | 'unavailable'; reason: string }> =
        [];
      await Promise.all(
        chosen.map(async (record) => {
          const { deviceId, channel } = record;
          if (connected.has(deviceId)) {
            outcome.online.push(deviceId);
            metrics.pushCoalescedTotal.inc({ reason: 'online' });
            return;
          }
          const windowKey = `${userId}\u0000${deviceId}\u0000${request.chatId ?? ''}`;
          if (recentlyWoken(windowKey, now)) {
            outcome.coalesced.push(deviceId);
            metrics.pushCoalescedTotal.inc({ reason: 'window' });
            return;
          }
          const provider = providers.get(channel.provider);
          if (!provider) {
            outcome.disabled.push(deviceId);
            metrics.pushFailedTotal.inc({ provider: channel.provider, reason: 'disabled' });
            if (!warnedDisabled.has(channel.provider)) {
              warnedDisabled.add(channel.provider);
              logger.warn(
                { provider: channel.provider, why: disabled.get(channel.provider) ?? 'not configured' },
                'a device has a channel of a disabled push provider: its wake-ups are not sent (see /ready)',
              );
            }
            return;
          }
          const wakeUp: WakeUp = {
            userId,
            deviceId,
            chatId: request.chatId,
            badge: Math.max(0, request.unreadCount),
            collapseKey,
            requestId: request.requestId,
          };
          const result = await deliver(provider, channel, wakeUp);
          if (result.kind === 'sent') {
            remember(windowKey, now);
            outcome.sent.push(deviceId);
          } else if (result.kind === 'dead') {
            await storeCall('delete a dead push channel', () =>
              channels.remove(userId, deviceId, record.registeredAtMs),
            );
            metrics.pushTokensRemovedTotal.inc({ provider: provider.name });
            outcome.removed.push(deviceId);
            logger.info(
              { userId, deviceId, provider: provider.name, reason: result.reason },
              'dead push channel removed',
            );
          } else {
            failures.push({ deviceId, provider: provider.name, kind: result.kind, reason: result.reason });
          }
        }),
      );
      if (failures.length > 0) {
        const unavailable = failures.some((f) => f.kind === 'unavailable');
        const summary = failures.map((f) => `${f.provider} ${f.reason} (device ${f.deviceId})`).join(', ');
        throw new ChatmeshError(
          unavailable ? 'CM_ERR_PUSH_PROVIDER_UNAVAILABLE' : 'CM_ERR_PUSH_PROVIDER_REJECTED',
          `wake-up ${request.requestId} failed: ${summary}`,
          // Already retried per device here: the bus parks it on the dead-letter topic at once.
          { retriable: false, context: { requestId: request.requestId, failures } },
        );
      }
      return outcome;
    },
  };
}
