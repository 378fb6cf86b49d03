import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import {
  isBranch,
  type DeviceRemoval,
  type DeviceStatusChange,
  type PresenceEvent,
  type PresenceNotice,
  type PresenceSubscribe,
  type PrivacyChange,
} from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import type { Deliver } from './deliveries.js';
import type { MembershipView } from './membership-view.js';
import type { PRESENCE_METRICS } from './metrics.js';
import { createNoticeThrottle } from './notice-throttle.js';
import type { WatchStore, WatcherDevice } from './watch-store.js';

/** What {@link createPresenceEngine} needs. */
export interface PresenceEngineDeps {
  readonly store: Pick<ChatStore, 'devices' | 'settings'>;
  readonly registry: PresenceRegistry;
  readonly watches: WatchStore;
  readonly membership: MembershipView;
  readonly deliver: Deliver;
  readonly logger: Logger;
  readonly metrics: MetricInstruments<typeof PRESENCE_METRICS>;
}

/** Settings of the engine (from `PRESENCE_CONFIG` and `DEVICES_CONFIG`). */
export interface PresenceEngineOptions {
  readonly maxDevicesPerUser: number;
  readonly subscriptionTtlMs: number;
  readonly maxSubscriptionTargets: number;
  readonly sweepIntervalMs: number;
  readonly sweepBatch: number;
  /** A user whose last device went away shows online this long more; a reconnect within it sends nothing. @default 0 */
  readonly offlineGraceMs?: number;
  /** Transition notices per watcher device per second, and at once (the per-watcher bound). @default unbounded */
  readonly noticesPerWatcherPerSecond?: number;
  readonly noticesPerWatcherBurst?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Why watchers are told. */
type NoticeReason = 'subscribe' | 'online' | 'offline' | 'sweep' | 'privacy';

/** What one sweep did. */
export interface SweepOutcome {
  readonly checked: number;
  readonly wentOffline: number;
}

/** The presence.events handler and the sweeper. */
export interface PresenceEngine {
  handle(event: PresenceEvent): Promise<void>;
  /** Claims the announced users whose check is due and turns those with no device online offline. */
  sweep(): Promise<SweepOutcome>;
  /** Notices held back by the per-watcher bound right now. */
  waitingNotices(): number;
  /** Stops the per-watcher timers (what waits is dropped: presence is re-sent on every subscribe). */
  close(): Promise<void>;
}

/**
 * How often the sweeper must run so that a user past the offline grace is announced within half a grace more,
 * and a dead gateway's users within the sweep interval.
 */
export function sweepTickMs(options: { readonly sweepIntervalMs: number; readonly offlineGraceMs: number }): number {
  if (options.offlineGraceMs <= 0) return options.sweepIntervalMs;
  return Math.min(options.sweepIntervalMs, Math.max(100, Math.floor(options.offlineGraceMs / 2)));
}

const HIDDEN: Omit<PresenceNotice, 'subjectUserId'> = { online: false, lastSeenMs: null };

/**
 * Turns presence.events (keyed by userId, so one handler per user at a time) into device-list writes,
 * session orders and PresenceNotice deliveries to watcher devices (contracts 6 and 8 of issue 7).
 *
 * "Online" is the registry's answer (a device registered by a gateway whose lease is live); the watch
 * store's announced set only remembers what watchers were last told, so that a second device, a replayed
 * event or two instances never announce twice, and so the sweeper knows whom to re-check.
 */
export function createPresenceEngine(deps: PresenceEngineDeps, options: PresenceEngineOptions): PresenceEngine {
  const { store, registry, watches, membership, deliver, logger, metrics } = deps;
  const clock = options.clock ?? Date.now;
  const offlineGraceMs = options.offlineGraceMs ?? 0;
  const throttle =
    options.noticesPerWatcherPerSecond === undefined
      ? null
      : createNoticeThrottle<NoticeReason>(sendNotice, {
          ratePerSecond: options.noticesPerWatcherPerSecond,
          burst: options.noticesPerWatcherBurst ?? options.noticesPerWatcherPerSecond,
          clock,
          onCoalesced: () => metrics.presenceNoticesCoalescedTotal.inc(),
        });

  /** The notices of many subjects as a watcher should see them now. */
  async function currentStates(subjects: readonly string[]): Promise<Map<string, PresenceNotice>> {
    const [settings, online, lastSeen] = await Promise.all([
      store.settings.getMany(subjects),
      registry.onlineDevicesOfUsers(subjects),
      registry.lastSeenOfUsers(subjects),
    ]);
    const states = new Map<string, PresenceNotice>();
    for (const subjectUserId of subjects) {
      if (settings.get(subjectUserId)?.presenceVisible === false) {
        states.set(subjectUserId, { subjectUserId, ...HIDDEN });
      } else if ((online.get(subjectUserId) ?? []).length > 0) {
        states.set(subjectUserId, { subjectUserId, online: true, lastSeenMs: null });
      } else {
        states.set(subjectUserId, { subjectUserId, online: false, lastSeenMs: lastSeen.get(subjectUserId) ?? null });
      }
    }
    return states;
  }

  async function sendNotice(watcher: WatcherDevice, notice: PresenceNotice, reason: NoticeReason): Promise<void> {
    const sent = await deliver({
      gatewayId: watcher.gatewayId,
      userId: watcher.userId,
      deviceId: watcher.deviceId,
      createdAtMs: clock(),
      payload: { 'chatmesh.gateway.PresenceNotice': notice },
    });
    if (sent) metrics.presenceNoticesTotal.inc({ reason });
  }

  /** Tells every live watcher of the subject who still shares a chat with it. */
  async function notifyWatchers(notice: PresenceNotice, reason: NoticeReason): Promise<number> {
    const watchers = await watches.watchersOf(notice.subjectUserId, clock());
    if (watchers.length === 0) return 0;
    const allowed = await Promise.all(watchers.map((w) => membership.shareChat(w.userId, notice.subjectUserId)));
    const targets = watchers.filter((_, i) => allowed[i]);
    // Transitions go through the per-watcher bound; a subscribe's snapshot (sent elsewhere) does not.
    await Promise.all(
      targets.map((w) => (throttle ? throttle.offer(w, notice, reason) : sendNotice(w, notice, reason))),
    );
    return targets.length;
  }

  async function isVisible(userId: string): Promise<boolean> {
    return (await store.settings.get(userId)).presenceVisible;
  }

  async function announceOnlineIfSo(userId: string): Promise<void> {
    if ((await registry.onlineDevices(userId)).length === 0) return;
    if (!(await watches.announceOnline(userId, clock() + options.sweepIntervalMs))) return;
    try {
      if (await isVisible(userId))
        await notifyWatchers({ subjectUserId: userId, online: true, lastSeenMs: null }, 'online');
    } catch (error) {
      // Undo the announcement so that the record's retry finds the transition again.
      await watches.announceOffline(userId).catch(() => undefined);
      throw error;
    }
    metrics.presenceTransitionsTotal.inc({ state: 'online' });
  }

  async function announceOffline(
    userId: string,
    reason: 'offline' | 'sweep',
    fallbackLastSeenMs: number | null,
    claimedCheckMs?: number,
  ): Promise<boolean> {
    if (!(await watches.announceOffline(userId, claimedCheckMs))) return false;
    try {
      if (await isVisible(userId)) {
        const lastSeenMs = (await registry.lastSeen(userId)) ?? fallbackLastSeenMs;
        await notifyWatchers({ subjectUserId: userId, online: false, lastSeenMs }, reason);
      }
    } catch (error) {
      // Announced again (due at once), so that the record's retry or the next sweep finds the transition again.
      await watches.announceOnline(userId, clock()).catch(() => undefined);
      throw error;
    }
    metrics.presenceTransitionsTotal.inc({ state: 'offline' });
    return true;
  }

  async function disconnect(userId: string, deviceId: string, gatewayId: string, reasonCode: string): Promise<void> {
    const sent = await deliver({
      gatewayId,
      userId,
      deviceId,
      createdAtMs: clock(),
      payload: { 'chatmesh.gateway.SessionControl': { action: 'DISCONNECT', reasonCode } },
    });
    if (sent) metrics.presenceSessionDisconnectsTotal.inc({ code: reasonCode });
  }

  async function onOnline(event: PresenceEvent): Promise<void> {
    const { userId, deviceId, gatewayId } = event;
    const devices = await store.devices.list(userId);
    const listed = devices.find((d) => d.deviceId === deviceId);
    if (listed?.removedAtMs != null) {
      logger.info({ userId, deviceId, gatewayId }, 'a removed device connected: disconnecting it');
      await disconnect(userId, deviceId, gatewayId, 'CM_ERR_DEVICE_REMOVED');
      return;
    }
    if (!listed) {
      const active = devices.filter((d) => d.removedAtMs === null).length;
      if (active >= options.maxDevicesPerUser) {
        // Two new devices raced past the gateway's check at the upgrade: the later one goes.
        logger.info({ userId, deviceId, gatewayId, active }, 'a new device past the device limit: disconnecting it');
        await disconnect(userId, deviceId, gatewayId, 'CM_ERR_DEVICE_LIMIT');
        return;
      }
      await store.devices.register(userId, deviceId, event.atMs);
    }
    await announceOnlineIfSo(userId);
  }

  async function onOffline(event: PresenceEvent, change: DeviceStatusChange): Promise<void> {
    const { userId, deviceId, connectionId } = event;
    await watches.unsubscribeConnection(userId, deviceId, connectionId);
    if ((await registry.onlineDevices(userId)).length > 0) return;
    if (offlineGraceMs > 0 && (await watches.isAnnounced(userId))) {
      // Not yet: the sweeper checks again after the grace, and a reconnect meanwhile leaves watchers untouched.
      await watches.announceOnline(userId, clock() + offlineGraceMs);
      metrics.presenceOfflineDeferredTotal.inc();
      return;
    }
    await announceOffline(userId, 'offline', change.lastSeenMs ?? event.atMs);
  }

  async function onSubscribe(event: PresenceEvent, change: PresenceSubscribe): Promise<void> {
    const { userId, deviceId, gatewayId, connectionId } = event;
    // A replayed subscribe of a socket that is already gone would leave a ghost subscription.
    const live = (await registry.onlineDevices(userId)).some(
      (d) => d.deviceId === deviceId && d.connectionId === connectionId,
    );
    if (!live) {
      metrics.presenceSubscriptionTargetsIgnoredTotal.inc({ reason: 'connection_gone' }, change.targetUserIds.length);
      return;
    }
    const requested = [...new Set(change.targetUserIds)];
    const others = requested.filter((t) => t !== userId);
    if (others.length < requested.length) metrics.presenceSubscriptionTargetsIgnoredTotal.inc({ reason: 'self' });
    const within = others.slice(0, options.maxSubscriptionTargets);
    if (within.length < others.length) {
      metrics.presenceSubscriptionTargetsIgnoredTotal.inc({ reason: 'over_limit' }, others.length - within.length);
    }
    const shares = await Promise.all(within.map((t) => membership.shareChat(userId, t)));
    const honoured = within.filter((_, i) => shares[i]);
    if (honoured.length < within.length) {
      metrics.presenceSubscriptionTargetsIgnoredTotal.inc(
        { reason: 'no_shared_chat' },
        within.length - honoured.length,
      );
    }
    const watcher: WatcherDevice = { userId, deviceId, gatewayId, connectionId };
    await watches.subscribe(watcher, honoured, {
      replace: change.replace,
      ttlMs: options.subscriptionTtlMs,
      maxTargets: options.maxSubscriptionTargets,
      nowMs: clock(),
    });
    if (honoured.length === 0) return;
    const states = await currentStates(honoured);
    await Promise.all(honoured.map((t) => sendNotice(watcher, states.get(t)!, 'subscribe')));
  }

  async function onPrivacy(event: PresenceEvent, change: PrivacyChange): Promise<void> {
    const { userId } = event;
    const before = await store.settings.get(userId);
    const update: { readReceipts?: boolean; presenceVisible?: boolean } = {};
    if (change.readReceipts !== null) update.readReceipts = change.readReceipts;
    if (change.presenceVisible !== null) update.presenceVisible = change.presenceVisible;
    if (Object.keys(update).length === 0) return;
    await store.settings.put(userId, update, event.atMs);
    const after = await store.settings.get(userId);
    if (before.presenceVisible === after.presenceVisible) return;
    const state = (await currentStates([userId])).get(userId)!;
    await notifyWatchers(state, 'privacy');
  }

  async function onRemoval(event: PresenceEvent, change: DeviceRemoval): Promise<void> {
    const { userId } = event;
    const { removedDeviceId } = change;
    const listed = (await store.devices.list(userId)).some((d) => d.deviceId === removedDeviceId);
    // The gateway answers 404 before producing for a device that is not listed; nothing to do.
    if (!listed) return;
    await store.devices.remove(userId, removedDeviceId, event.atMs);
    const sessions = (await registry.onlineDevices(userId)).filter((d) => d.deviceId === removedDeviceId);
    await Promise.all(sessions.map((s) => disconnect(userId, removedDeviceId, s.gatewayId, 'CM_ERR_DEVICE_REMOVED')));
  }

  let sweeping: Promise<SweepOutcome> | null = null;

  async function sweepOnce(): Promise<SweepOutcome> {
    const started = performance.now();
    let checked = 0;
    let wentOffline = 0;
    // Bounded: at most as many batches as it takes to claim everything due once.
    for (let round = 0; round < 1_000; round++) {
      const nowMs = clock();
      const nextCheckMs = nowMs + options.sweepIntervalMs;
      const claimed = await watches.claimDue(nowMs, nextCheckMs, options.sweepBatch);
      if (claimed.length === 0) break;
      checked += claimed.length;
      const online = await registry.onlineDevicesOfUsers(claimed);
      const gone = claimed.filter((userId) => (online.get(userId) ?? []).length === 0);
      const results = await Promise.all(gone.map((userId) => announceOffline(userId, 'sweep', null, nextCheckMs)));
      wentOffline += results.filter(Boolean).length;
      if (claimed.length < options.sweepBatch) break;
    }
    metrics.presenceSweepCheckedTotal.inc(checked);
    metrics.presenceSweepDurationSeconds.observe((performance.now() - started) / 1000);
    if (wentOffline > 0) logger.info({ checked, wentOffline }, 'sweep turned users offline (their gateway went away)');
    return { checked, wentOffline };
  }

  return {
    async handle(event) {
      const change = event.change;
      let kind: string;
      if (isBranch(change, 'chatmesh.presence.DeviceStatusChange')) {
        const status = change['chatmesh.presence.DeviceStatusChange'];
        kind = status.status.toLowerCase();
        if (status.status === 'ONLINE') await onOnline(event);
        else if (status.status === 'OFFLINE') await onOffline(event, status);
        else await announceOnlineIfSo(event.userId);
      } else if (isBranch(change, 'chatmesh.presence.PresenceSubscribe')) {
        kind = 'subscribe';
        await onSubscribe(event, change['chatmesh.presence.PresenceSubscribe']);
      } else if (isBranch(change, 'chatmesh.presence.PrivacyChange')) {
        kind = 'privacy';
        await onPrivacy(event, change['chatmesh.presence.PrivacyChange']);
      } else {
        kind = 'device_removal';
        await onRemoval(event, change['chatmesh.presence.DeviceRemoval']);
      }
      // Counted once handled, so a retried record counts once.
      metrics.presenceEventsTotal.inc({ kind });
    },
    sweep() {
      // One sweep at a time per instance: a slow one is not overlapped by the next tick.
      sweeping ??= sweepOnce().finally(() => {
        sweeping = null;
      });
      return sweeping;
    },
    waitingNotices: () => throttle?.waiting() ?? 0,
    async close() {
      await throttle?.close();
    },
  };
}
