import { Redis } from 'ioredis';
import { RateLimitError } from './errors.js';
import { TAKE_TOKENS_LUA } from './internal/token-bucket-lua.js';
import { validateBucketOptions, validateTake } from './internal/validate.js';
import type { RateLimiter, TokenBucketOptions } from './types.js';

/** Options of {@link createRedisRateLimiter}. Pass exactly one of `url` or `redis`. */
export interface RedisRateLimiterOptions extends TokenBucketOptions {
  /** `redis://host:port[/db]`: the limiter creates, owns and closes its client. */
  readonly url?: string;
  /** A client the caller owns; `close()` leaves it open. */
  readonly redis?: Redis;
  /** Prepended to every key so deployments and tests can share one Redis. @default 'chatmesh:rate:' */
  readonly keyPrefix?: string;
  /** @default Date.now */
  readonly clock?: () => number;
}

type ScriptedRedis = Redis & {
  chatmeshTakeTokens(
    key: string,
    rate: number,
    burst: number,
    cost: number,
    nowMs: number,
  ): Promise<[number, number, number]>;
};

/**
 * Token buckets shared by every process that uses the same Redis and prefix: the per-user limit
 * across all gateways in stack mode. One round trip per take (an EVALSHA of {@link TAKE_TOKENS_LUA}).
 * @throws RateLimitError `CM_ERR_RATE_LIMIT_INVALID_ARGUMENT` for bad options (neither or both of url and redis)
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  validateBucketOptions(options);
  if ((options.url === undefined) === (options.redis === undefined)) {
    throw new RateLimitError('CM_ERR_RATE_LIMIT_INVALID_ARGUMENT', 'pass exactly one of `url` or `redis`');
  }
  const { ratePerSecond, burst } = options;
  const owned = options.redis === undefined;
  const redis = (options.redis ??
    new Redis(options.url as string, { lazyConnect: false, maxRetriesPerRequest: 1 })) as ScriptedRedis;
  // Failures surface on each take as CM_ERR_RATE_LIMIT_UNAVAILABLE; without a listener ioredis prints them too.
  if (owned) redis.on('error', () => {});
  if (typeof redis.chatmeshTakeTokens !== 'function') {
    redis.defineCommand('chatmeshTakeTokens', { numberOfKeys: 1, lua: TAKE_TOKENS_LUA });
  }
  const prefix = options.keyPrefix ?? 'chatmesh:rate:';
  const clock = options.clock ?? Date.now;
  let closed = false;
  return {
    async take(key, cost = 1, nowMs = clock()) {
      validateTake(key, cost, burst);
      let reply: [number, number, number];
      try {
        reply = await redis.chatmeshTakeTokens(`${prefix}${key}`, ratePerSecond, burst, cost, Math.floor(nowMs));
      } catch (error) {
        throw new RateLimitError('CM_ERR_RATE_LIMIT_UNAVAILABLE', 'the rate limiter could not reach Redis', {
          cause: error,
          context: { key },
        });
      }
      const [allowed, milliTokens, retryAfterMs] = reply;
      return { allowed: allowed === 1, remaining: Math.floor(milliTokens / 1000), retryAfterMs };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) redis.disconnect();
    },
  };
}
