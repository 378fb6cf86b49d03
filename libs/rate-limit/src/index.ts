/**
 * @chatmesh/rate-limit: token buckets by key, in memory ({@link createMemoryRateLimiter}) or shared
 * across processes on Redis ({@link createRedisRateLimiter}, one Lua script per take). The gateway uses
 * them for per-connection and per-user frame rates.
 */
export type { RateLimiter, TakeResult, TokenBucketOptions } from './types.js';
export { RateLimitError, type RateLimitErrorContext } from './errors.js';
export { createMemoryRateLimiter, type MemoryRateLimiterOptions } from './memory-rate-limiter.js';
export { createRedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
