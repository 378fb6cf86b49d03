/**
 * @chatmesh/presence: online / last seen for watchers who share a chat, presence subscriptions, the
 * device list and privacy settings, and the typing relay. Exports its {@link ServiceModule}, which the
 * embedded launcher runs in-process and `src/main.ts` runs as its own process.
 */
export {
  presenceService,
  createPresenceService,
  PRESENCE_GROUP_ID,
  TYPING_GROUP_ID,
  type PresenceServiceOptions,
} from './service.js';
export { PRESENCE_CONFIG } from './presence-config.js';
export { PRESENCE_METRICS } from './metrics.js';
export { createMemoryWatchStore, type WatchStore, type WatcherDevice, type SubscribeOptions } from './watch-store.js';
export { createRedisWatchStore, type RedisWatchStoreOptions } from './redis-watch-store.js';
export { TYPING_REQUEST_ID } from './typing-relay.js';
export {
  createPresenceEngine,
  sweepTickMs,
  type PresenceEngine,
  type PresenceEngineOptions,
} from './presence-engine.js';
export { createNoticeThrottle, type NoticeThrottle, type NoticeThrottleOptions } from './notice-throttle.js';
