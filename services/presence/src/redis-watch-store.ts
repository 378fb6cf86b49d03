/**
 * The watch store on Redis (stack mode): presence subscriptions and the announced-online set, shared by
 * every presence instance. Layout (all keys under `<prefix>:`):
 *
 * | Key                          | Type   | Content                                                                  | Expiry               |
 * | ---------------------------- | ------ | ------------------------------------------------------------------------ | -------------------- |
 * | `sub:{<userId>}:<deviceId>`  | string | `{"c":connectionId,"g":gatewayId,"t":[targets],"e":expiresAtMs}`          | subscription TTL     |
 * | `watchers:{<subjectUserId>}` | hash   | field `["<userId>","<deviceId>"]` → `{"c","g","e"}`                     | renewed on each write |
 * | `online`                     | zset   | member userId, score = its next sweep check (epoch ms)                   | none                 |
 *
 * A watcher device's keys are written only by the owner of its user's `presence.events` partition, so
 * subscribe and unsubscribe need no compare-and-set beyond a MULTI; watcher fields past their `e` are
 * ignored on read and deleted then. The two sweeper operations that race between instances (claiming
 * due users, removing a claimed user) are Lua scripts.
 */
import { PresenceError, type PresenceErrorContext } from '@chatmesh/presence-registry';
import { isChatmeshError } from '@chatmesh/errors';
import { Redis } from 'ioredis';
import { mergeTargets, type WatchStore, type WatcherDevice } from './watch-store.js';

/** Options of {@link createRedisWatchStore}: a `url` (the store connects and owns the client) or a `redis` client. */
export interface RedisWatchStoreOptions {
  readonly url?: string;
  readonly redis?: Redis;
  /** Every key starts with `<keyPrefix>:`. @default 'chatmesh.watch' */
  readonly keyPrefix?: string;
}

/** Claims due members: moves each one's score to ARGV[2] so that no other sweeper takes it. */
const CLAIM_DUE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
end
return ids
`;

/** Removes a member only while its score is still the claimed one. */
const REMOVE_IF_SCORE = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`;

interface StoredSubscription {
  readonly c: string;
  readonly g: string;
  readonly t: string[];
  readonly e: number;
}

interface StoredWatcher {
  readonly c: string;
  readonly g: string;
  readonly e: number;
}

type ScriptedRedis = Redis & {
  presenceClaimDue(key: string, nowMs: number, nextCheckMs: number, limit: number): Promise<string[]>;
  presenceRemoveIfScore(key: string, userId: string, score: number): Promise<number>;
};

function toStoreError(error: unknown, context: PresenceErrorContext): PresenceError {
  if (error instanceof PresenceError) return error;
  if (isChatmeshError(error)) return new PresenceError(error.code, error.message, { cause: error, context });
  const message = error instanceof Error ? error.message : String(error);
  return new PresenceError(
    'CM_ERR_PRESENCE_UNAVAILABLE',
    `Redis did not answer ${context.operation ?? 'a command'}: ${message}`,
    { cause: error, context },
  );
}

/**
 * Creates a {@link WatchStore} on Redis. With `url` it connects first and fails fast.
 * @throws PresenceError CM_ERR_PRESENCE_UNAVAILABLE when it cannot connect
 */
export async function createRedisWatchStore(options: RedisWatchStoreOptions): Promise<WatchStore> {
  const prefix = `${options.keyPrefix ?? 'chatmesh.watch'}:`;
  const owns = options.redis === undefined;
  let client: Redis;
  if (options.redis) {
    client = options.redis;
  } else {
    client = new Redis(options.url ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 2 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      client.disconnect();
      throw toStoreError(error, { operation: 'connect', url: options.url });
    }
  }
  if (!('presenceClaimDue' in client)) {
    client.defineCommand('presenceClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE });
    client.defineCommand('presenceRemoveIfScore', { numberOfKeys: 1, lua: REMOVE_IF_SCORE });
  }
  const redis = client as ScriptedRedis;
  const subKey = (userId: string, deviceId: string): string => `${prefix}sub:{${userId}}:${deviceId}`;
  const watchersKey = (subject: string): string => `${prefix}watchers:{${subject}}`;
  const onlineKey = `${prefix}online`;
  const field = (userId: string, deviceId: string): string => JSON.stringify([userId, deviceId]);
  let closed = false;

  async function run<T>(context: PresenceErrorContext, work: () => Promise<T>): Promise<T> {
    if (closed) throw new PresenceError('CM_ERR_PRESENCE_CLOSED', undefined, { context });
    try {
      return await work();
    } catch (error) {
      throw toStoreError(error, context);
    }
  }

  async function readSubscription(userId: string, deviceId: string): Promise<StoredSubscription | null> {
    const raw = await redis.get(subKey(userId, deviceId));
    return raw === null ? null : (JSON.parse(raw) as StoredSubscription);
  }

  return {
    subscribe: (watcher, targets, options) =>
      run({ operation: 'subscribe', userId: watcher.userId, deviceId: watcher.deviceId }, async () => {
        const previous = await readSubscription(watcher.userId, watcher.deviceId);
        const keep =
          !options.replace && previous !== null && previous.c === watcher.connectionId && previous.e > options.nowMs;
        const next = mergeTargets(keep ? previous.t : [], targets, options.maxTargets);
        const expiresAtMs = options.nowMs + options.ttlMs;
        const own = field(watcher.userId, watcher.deviceId);
        const multi = redis.multi();
        for (const target of previous?.t ?? []) {
          if (!next.includes(target)) multi.hdel(watchersKey(target), own);
        }
        if (next.length === 0) {
          multi.del(subKey(watcher.userId, watcher.deviceId));
        } else {
          const stored: StoredSubscription = { c: watcher.connectionId, g: watcher.gatewayId, t: next, e: expiresAtMs };
          multi.set(subKey(watcher.userId, watcher.deviceId), JSON.stringify(stored), 'PX', options.ttlMs);
          const entry = JSON.stringify({ c: watcher.connectionId, g: watcher.gatewayId, e: expiresAtMs });
          for (const target of next) {
            multi.hset(watchersKey(target), own, entry);
            multi.pexpire(watchersKey(target), options.ttlMs);
          }
        }
        await multi.exec();
        return next;
      }),
    unsubscribeConnection: (userId, deviceId, connectionId) =>
      run({ operation: 'unsubscribeConnection', userId, deviceId }, async () => {
        const previous = await readSubscription(userId, deviceId);
        if (previous === null || previous.c !== connectionId) return false;
        const own = field(userId, deviceId);
        const multi = redis.multi().del(subKey(userId, deviceId));
        for (const target of previous.t) multi.hdel(watchersKey(target), own);
        await multi.exec();
        return true;
      }),
    watchersOf: (subjectUserId, nowMs) =>
      run({ operation: 'watchersOf', userId: subjectUserId }, async () => {
        const all = await redis.hgetall(watchersKey(subjectUserId));
        const live: WatcherDevice[] = [];
        const expired: string[] = [];
        for (const [key, raw] of Object.entries(all)) {
          const [userId, deviceId] = JSON.parse(key) as [string, string];
          const entry = JSON.parse(raw) as StoredWatcher;
          if (entry.e > nowMs) live.push({ userId, deviceId, gatewayId: entry.g, connectionId: entry.c });
          else expired.push(key);
        }
        if (expired.length > 0) await redis.hdel(watchersKey(subjectUserId), ...expired);
        return live;
      }),
    targetsOf: (userId, deviceId, nowMs) =>
      run({ operation: 'targetsOf', userId, deviceId }, async () => {
        const stored = await readSubscription(userId, deviceId);
        return stored && stored.e > nowMs ? stored.t : [];
      }),
    announceOnline: (userId, nextCheckMs) =>
      run(
        { operation: 'announceOnline', userId },
        async () => (await redis.zadd(onlineKey, nextCheckMs, userId)) === 1,
      ),
    announceOffline: (userId, claimedCheckMs) =>
      run({ operation: 'announceOffline', userId }, async () =>
        claimedCheckMs === undefined
          ? (await redis.zrem(onlineKey, userId)) === 1
          : (await redis.presenceRemoveIfScore(onlineKey, userId, claimedCheckMs)) === 1,
      ),
    isAnnounced: (userId) =>
      run({ operation: 'isAnnounced', userId }, async () => (await redis.zscore(onlineKey, userId)) !== null),
    claimDue: (nowMs, nextCheckMs, limit) =>
      run({ operation: 'claimDue' }, () => redis.presenceClaimDue(onlineKey, nowMs, nextCheckMs, limit)),
    async close() {
      if (closed) return;
      closed = true;
      if (owns) await client.quit().catch(() => client.disconnect());
    },
  };
}
