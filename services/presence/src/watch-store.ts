/**
 * What presence keeps besides the connection registry: who watches whom (presence subscriptions, by
 * watcher device) and which users were announced online to their watchers. Both must be shared by every
 * presence instance: subscriptions arrive on the watcher's partition of `presence.events` (key userId) but
 * notices go out on the subject's, and the sweeper of any instance may find that an announced user is
 * gone. So stack mode keeps them in Redis ({@link createRedisWatchStore}) and embedded mode in memory
 * ({@link createMemoryWatchStore}); both pass one contract suite.
 *
 * @module
 */

/** One connected device watching presence. */
export interface WatcherDevice {
  readonly userId: string;
  readonly deviceId: string;
  /** Where its notices go: `gateway.<gatewayId>.deliveries`. */
  readonly gatewayId: string;
  /** The socket that subscribed: only its OFFLINE drops the subscriptions. */
  readonly connectionId: string;
}

/** How {@link WatchStore.subscribe} writes. */
export interface SubscribeOptions {
  /** True replaces the device's earlier targets; false adds to them (same connection only). */
  readonly replace: boolean;
  /** The subscriptions' time to live from now; a new subscribe renews it. */
  readonly ttlMs: number;
  /** Targets kept at most (the newest win when adding). */
  readonly maxTargets: number;
  readonly nowMs: number;
}

export interface WatchStore {
  /**
   * Sets the targets a watcher device subscribes to. A subscription of another connection of the same
   * device is always replaced (a reconnect starts afresh).
   * @returns the targets the device watches now
   */
  subscribe(watcher: WatcherDevice, targets: readonly string[], options: SubscribeOptions): Promise<string[]>;
  /** Drops the device's subscriptions if, and only if, they belong to `connectionId`. @returns whether any were dropped */
  unsubscribeConnection(userId: string, deviceId: string, connectionId: string): Promise<boolean>;
  /** The devices whose live subscriptions include `subjectUserId`. */
  watchersOf(subjectUserId: string, nowMs: number): Promise<WatcherDevice[]>;
  /** The targets a watcher device has now (tests and diagnostics). */
  targetsOf(userId: string, deviceId: string, nowMs: number): Promise<string[]>;
  /**
   * Marks the user announced online and schedules its next sweep check at `nextCheckMs` (moving it if
   * already announced). @returns true when the user was not announced: a transition to tell watchers
   */
  announceOnline(userId: string, nextCheckMs: number): Promise<boolean>;
  /**
   * Removes the user from the announced set. With `claimedCheckMs`, only when its check time is still
   * that one (a sweeper's claim), so an ONLINE handled meanwhile wins.
   * @returns true when the user was announced: a transition to tell watchers
   */
  announceOffline(userId: string, claimedCheckMs?: number): Promise<boolean>;
  /** Whether the user is announced online. */
  isAnnounced(userId: string): Promise<boolean>;
  /**
   * Atomically claims up to `limit` announced users whose check is due (`<= nowMs`) by moving their next
   * check to `nextCheckMs`: two instances sweeping at once never claim the same user.
   */
  claimDue(nowMs: number, nextCheckMs: number, limit: number): Promise<string[]>;
  /** Releases what the store opened (a Redis client passed in stays open). Idempotent. */
  close(): Promise<void>;
}

interface Subscription {
  readonly watcher: WatcherDevice;
  readonly targets: string[];
  readonly expiresAtMs: number;
}

/** Most recent first, deduplicated, at most `max`: the newest targets win. */
export function mergeTargets(previous: readonly string[], added: readonly string[], max: number): string[] {
  const merged = [...new Set([...added, ...previous])];
  return merged.slice(0, max);
}

/** The watch store of embedded mode and unit tests: everything in this process. */
export function createMemoryWatchStore(): WatchStore {
  const subscriptions = new Map<string, Subscription>();
  const watchers = new Map<string, Map<string, Subscription>>();
  const announced = new Map<string, number>();
  const deviceKey = (userId: string, deviceId: string): string => JSON.stringify([userId, deviceId]);

  function detach(key: string, subscription: Subscription): void {
    for (const target of subscription.targets) {
      const ofTarget = watchers.get(target);
      if (ofTarget?.get(key) === subscription) {
        ofTarget.delete(key);
        if (ofTarget.size === 0) watchers.delete(target);
      }
    }
  }

  return {
    async subscribe(watcher, targets, options) {
      const key = deviceKey(watcher.userId, watcher.deviceId);
      const previous = subscriptions.get(key);
      const keep =
        !options.replace &&
        previous !== undefined &&
        previous.watcher.connectionId === watcher.connectionId &&
        previous.expiresAtMs > options.nowMs;
      const next = mergeTargets(keep ? previous.targets : [], targets, options.maxTargets);
      if (previous) detach(key, previous);
      if (next.length === 0) {
        subscriptions.delete(key);
        return [];
      }
      const subscription: Subscription = { watcher, targets: next, expiresAtMs: options.nowMs + options.ttlMs };
      subscriptions.set(key, subscription);
      for (const target of next) {
        let ofTarget = watchers.get(target);
        if (!ofTarget) watchers.set(target, (ofTarget = new Map()));
        ofTarget.set(key, subscription);
      }
      return [...next];
    },
    async unsubscribeConnection(userId, deviceId, connectionId) {
      const key = deviceKey(userId, deviceId);
      const previous = subscriptions.get(key);
      if (!previous || previous.watcher.connectionId !== connectionId) return false;
      subscriptions.delete(key);
      detach(key, previous);
      return true;
    },
    async watchersOf(subjectUserId, nowMs) {
      const ofTarget = watchers.get(subjectUserId);
      if (!ofTarget) return [];
      const live: WatcherDevice[] = [];
      for (const [key, subscription] of ofTarget) {
        if (subscription.expiresAtMs > nowMs) {
          live.push(subscription.watcher);
        } else {
          subscriptions.delete(key);
          detach(key, subscription);
        }
      }
      return live;
    },
    async targetsOf(userId, deviceId, nowMs) {
      const subscription = subscriptions.get(deviceKey(userId, deviceId));
      return subscription && subscription.expiresAtMs > nowMs ? [...subscription.targets] : [];
    },
    async announceOnline(userId, nextCheckMs) {
      const fresh = !announced.has(userId);
      announced.set(userId, nextCheckMs);
      return fresh;
    },
    async announceOffline(userId, claimedCheckMs) {
      const checkMs = announced.get(userId);
      if (checkMs === undefined) return false;
      if (claimedCheckMs !== undefined && checkMs !== claimedCheckMs) return false;
      announced.delete(userId);
      return true;
    },
    async isAnnounced(userId) {
      return announced.has(userId);
    },
    async claimDue(nowMs, nextCheckMs, limit) {
      const due = [...announced]
        .filter(([, checkMs]) => checkMs <= nowMs)
        .sort((a, b) => a[1] - b[1])
        .slice(0, limit)
        .map(([userId]) => userId);
      for (const userId of due) announced.set(userId, nextCheckMs);
      return due;
    },
    async close() {
      subscriptions.clear();
      watchers.clear();
      announced.clear();
    },
  };
}
