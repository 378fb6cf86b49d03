import { createMemoryRateLimiter } from '@chatmesh/rate-limit';
import type { PresenceNotice } from '@chatmesh/schemas';
import type { WatcherDevice } from './watch-store.js';

/** Sends one notice to one watcher device (never throws: deliveries are ephemeral). */
export type SendNotice<R extends string> = (watcher: WatcherDevice, notice: PresenceNotice, reason: R) => Promise<void>;

/** Settings of {@link createNoticeThrottle}. */
export interface NoticeThrottleOptions {
  readonly ratePerSecond: number;
  readonly burst: number;
  /** Watchers with notices waiting, at most; past it a notice is sent at once (never lost to the bound). @default 10000 */
  readonly maxWaitingWatchers?: number;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Called for each notice held back (a metric). */
  readonly onCoalesced?: () => void;
}

/** A per-watcher bound on notices, coalescing what is over it. */
export interface NoticeThrottle<R extends string> {
  /**
   * Sends the notice now when the watcher's bucket has a token; otherwise keeps it, replacing any waiting
   * notice of the same subject (only the latest state matters), and sends it once a token is back.
   */
  offer(watcher: WatcherDevice, notice: PresenceNotice, reason: R): Promise<void>;
  /** Notices waiting now (tests, health). */
  waiting(): number;
  /** Sends what waits, ignoring the bound (shutdown). */
  flushAll(): Promise<void>;
  close(): Promise<void>;
}

interface Waiting<R extends string> {
  watcher: WatcherDevice;
  /** By subject, oldest first: a subject's newer state replaces its older one in place. */
  readonly notices: Map<string, { notice: PresenceNotice; reason: R }>;
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * A contact that flaps (a phone on a bad network: online, offline, online…) or a thousand contacts changing
 * at once must not flood one watcher: each watcher device gets at most `ratePerSecond` notices (bursts of
 * `burst`) from this process. What is over the bound waits, coalesced to the latest state per subject, so the
 * watcher ends up with every subject's current state, never a stale one, just not every intermediate flap.
 * Once a watcher has notices waiting, new ones queue behind them, so a subject's states never arrive out of order.
 * The bound is per process: notices about different subjects come from the presence instance that owns each
 * subject's partition.
 */
export function createNoticeThrottle<R extends string>(
  send: SendNotice<R>,
  options: NoticeThrottleOptions,
): NoticeThrottle<R> {
  const clock = options.clock ?? Date.now;
  const maxWaitingWatchers = options.maxWaitingWatchers ?? 10_000;
  const limiter = createMemoryRateLimiter({ ratePerSecond: options.ratePerSecond, burst: options.burst, clock });
  const queues = new Map<string, Waiting<R>>();
  let closed = false;

  const keyOf = (watcher: WatcherDevice): string => `${watcher.userId}\u0000${watcher.deviceId}`;

  function schedule(key: string, queue: Waiting<R>, afterMs: number): void {
    if (closed) return;
    queue.timer = setTimeout(() => void drain(key), Math.max(1, afterMs));
    queue.timer.unref?.();
  }

  async function drain(key: string): Promise<void> {
    const queue = queues.get(key);
    if (!queue) return;
    queue.timer = null;
    while (queue.notices.size > 0) {
      const taken = await limiter.take(key);
      if (!taken.allowed) {
        schedule(key, queue, taken.retryAfterMs);
        return;
      }
      const [subject, next] = queue.notices.entries().next().value as [string, { notice: PresenceNotice; reason: R }];
      queue.notices.delete(subject);
      await send(queue.watcher, next.notice, next.reason);
    }
    queues.delete(key);
  }

  return {
    async offer(watcher, notice, reason) {
      const key = keyOf(watcher);
      const waitBehind = (queue: Waiting<R>): void => {
        // The latest connection of the watcher is where waiting notices go.
        queue.watcher = watcher;
        queue.notices.delete(notice.subjectUserId);
        queue.notices.set(notice.subjectUserId, { notice, reason });
        options.onCoalesced?.();
      };
      const queue = queues.get(key);
      if (queue) return waitBehind(queue);
      const taken = await limiter.take(key);
      // Looked up again after the await: another notice may have started a queue meanwhile, which this one must
      // join (a second queue under the same key would replace the first and lose what it held).
      const started = queues.get(key);
      if (started) return waitBehind(started);
      if (taken.allowed || closed || queues.size >= maxWaitingWatchers) {
        await send(watcher, notice, reason);
        return;
      }
      const waiting: Waiting<R> = {
        watcher,
        notices: new Map([[notice.subjectUserId, { notice, reason }]]),
        timer: null,
      };
      queues.set(key, waiting);
      options.onCoalesced?.();
      schedule(key, waiting, taken.retryAfterMs);
    },
    waiting() {
      let count = 0;
      for (const queue of queues.values()) count += queue.notices.size;
      return count;
    },
    async flushAll() {
      const all = [...queues.values()];
      queues.clear();
      for (const queue of all) {
        if (queue.timer) clearTimeout(queue.timer);
        for (const { notice, reason } of queue.notices.values()) await send(queue.watcher, notice, reason);
      }
    },
    async close() {
      closed = true;
      for (const queue of queues.values()) if (queue.timer) clearTimeout(queue.timer);
      queues.clear();
      await limiter.close();
    },
  };
}
