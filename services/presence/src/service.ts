import { getConfigSection } from '@chatmesh/config';
import { createMetrics } from '@chatmesh/metrics';
import { createMemoryRateLimiter } from '@chatmesh/rate-limit';
import { CORE_PATH_RETRY, ServiceStatus, DEVICES_CONFIG, ensureTopics, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS } from '@chatmesh/schemas';
import { createDeliver } from './deliveries.js';
import { MembershipView } from './membership-view.js';
import { PRESENCE_METRICS } from './metrics.js';
import { PRESENCE_CONFIG } from './presence-config.js';
import { createPresenceEngine, sweepTickMs } from './presence-engine.js';
import { createRedisWatchStore } from './redis-watch-store.js';
import { createTypingRelay } from './typing-relay.js';
import { createMemoryWatchStore, type WatchStore } from './watch-store.js';

/** The group that handles presence.events (one owner per partition, so per user). */
export const PRESENCE_GROUP_ID = 'chatmesh.presence';
/** The group that relays typing (one owner per ephemeral partition, so per chat). */
export const TYPING_GROUP_ID = 'chatmesh.presence.typing';

/** Options of {@link createPresenceService} (tests). */
export interface PresenceServiceOptions {
  /** The service's clock (atMs of notices, sweeper schedule, typing staleness). @default Date.now */
  readonly clock?: () => number;
  /** Replaces the watch store the service would build (memory in embedded mode, Redis in stack mode). */
  readonly watchStore?: WatchStore;
}

/**
 * The presence service (issue 7, contracts 6, 7 and 8):
 * - `presence.events` (key userId): registers devices in the device list (refusing removed ones and new
 *   ones past the limit with a DISCONNECT to their gateway), removes devices, stores privacy settings,
 *   keeps presence subscriptions, and sends PresenceNotice deliveries to watcher devices on subscribe and
 *   on each transition (first device online, last device offline, privacy change);
 * - a sweeper that re-checks users announced online, so that a gateway killed without OFFLINE events
 *   turns its users offline for their watchers once its lease lapses;
 * - `ephemeral` (key chatId): relays typing to the other members' online devices, never storing it.
 */
export function createPresenceService(options: PresenceServiceOptions = {}): ServiceModule {
  return {
    name: 'presence',
    description:
      'Online / last seen for watchers who share a chat, presence subscriptions, the device list and privacy settings, typing relay',
    consumes: [TOPICS.presenceEvents.name, TOPICS.ephemeral.name],
    produces: ['gateway.<id>.deliveries'],
    config: { presence: PRESENCE_CONFIG, devices: DEVICES_CONFIG },
    metrics: PRESENCE_METRICS,
    async start(deps) {
      const settings = getConfigSection(deps.config, 'presence', PRESENCE_CONFIG);
      const { maxDevicesPerUser } = getConfigSection(deps.config, 'devices', DEVICES_CONFIG);
      const clock = options.clock ?? Date.now;
      const topics = await ensureTopics(deps.bus, deps.codec, [TOPICS.presenceEvents, TOPICS.ephemeral]);
      const metrics = createMetrics(deps.registry, PRESENCE_METRICS);
      const ownsWatches = options.watchStore === undefined;
      const watches =
        options.watchStore ??
        (deps.config.mode === 'stack' && deps.config.redisUrl !== undefined
          ? await createRedisWatchStore({ url: deps.config.redisUrl, keyPrefix: settings.keyPrefix })
          : createMemoryWatchStore());
      const membership = new MembershipView(deps.store.directory, { ttlMs: settings.membershipCacheMs, clock });
      const deliver = createDeliver({ typed: deps.typed, logger: deps.logger, metrics });
      const engine = createPresenceEngine(
        { store: deps.store, registry: deps.presence, watches, membership, deliver, logger: deps.logger, metrics },
        {
          maxDevicesPerUser,
          subscriptionTtlMs: settings.subscriptionTtlMs,
          maxSubscriptionTargets: settings.maxSubscriptionTargets,
          sweepIntervalMs: settings.sweepIntervalMs,
          sweepBatch: settings.sweepBatch,
          offlineGraceMs: settings.offlineGraceMs,
          noticesPerWatcherPerSecond: settings.noticesPerWatcherPerSecond,
          noticesPerWatcherBurst: settings.noticesPerWatcherBurst,
          clock,
        },
      );
      const sweepEveryMs = sweepTickMs(settings);
      const limiter = createMemoryRateLimiter({
        ratePerSecond: settings.typingPerMinute / 60,
        burst: settings.typingBurst,
        clock,
      });
      const typing = createTypingRelay(
        { registry: deps.presence, membership, limiter, deliver, logger: deps.logger, metrics },
        { clock },
      );
      const counts = { presenceEvents: 0, typing: 0, typingRelayed: 0, sweeps: 0, sweptOffline: 0, sweepFailures: 0 };
      let lastSweepError: string | null = null;
      const status = new ServiceStatus();

      const events = await deps.typed.subscribe({
        groupId: PRESENCE_GROUP_ID,
        topics: [TOPICS.presenceEvents.name],
        retry: CORE_PATH_RETRY,
        partitionsConcurrently: settings.partitionsConcurrently,
        handler: async (event) => {
          await engine.handle(event);
          counts.presenceEvents++;
        },
      });
      const ephemeral = await deps.typed.subscribe({
        groupId: TYPING_GROUP_ID,
        topics: [TOPICS.ephemeral.name],
        retry: CORE_PATH_RETRY,
        partitionsConcurrently: settings.partitionsConcurrently,
        handler: async (event) => {
          const { outcome } = await typing.relay(event);
          counts.typing++;
          if (outcome === 'relayed') counts.typingRelayed++;
        },
      });

      let sweeping: Promise<void> | null = null;
      const sweepTimer = setInterval(() => {
        if (sweeping) return;
        sweeping = engine
          .sweep()
          .then(
            (outcome) => {
              counts.sweeps++;
              counts.sweptOffline += outcome.wentOffline;
              lastSweepError = null;
            },
            (error: unknown) => {
              // The next tick tries again; users stay announced (claimed ones come due again one interval later).
              counts.sweepFailures++;
              lastSweepError = error instanceof Error ? error.message : String(error);
              deps.logger.warn({ err: error }, 'presence sweep failed');
            },
          )
          .finally(() => {
            sweeping = null;
          });
      }, sweepEveryMs);
      sweepTimer.unref();

      status.readyWhen(events.ready, ephemeral.ready);
      return {
        name: 'presence',
        stop: () =>
          status.stop(async () => {
            clearInterval(sweepTimer);
            await Promise.all([events.stop(), ephemeral.stop()]);
            await sweeping;
            await engine.close();
            await limiter.close();
            if (ownsWatches) await watches.close();
          }),
        health: () =>
          status.health({
            topics,
            watchStore: ownsWatches ? (deps.config.mode === 'stack' ? 'redis' : 'memory') : 'given',
            presenceAssignment: events.assignment(),
            typingAssignment: ephemeral.assignment(),
            sweepIntervalMs: settings.sweepIntervalMs,
            sweepEveryMs,
            offlineGraceMs: settings.offlineGraceMs,
            waitingNotices: engine.waitingNotices(),
            lastSweepError,
            ...counts,
          }),
      };
    },
  };
}

/** The presence service with its defaults, as the launcher and `src/main.ts` run it. */
export const presenceService: ServiceModule = createPresenceService();
