/**
 * @chatmesh/rate-limit: token buckets by key, in memory ({@link createMemoryRateLimiter}) or shared
 * across processes on Redis ({@link createRedisRateLimiter}, one Lua script per take). The gateway uses
 * them for per-connection and per-user frame rates; {@link TokenBucket} / {@link TokenBuckets} are the synchronous
 * in-memory buckets underneath, used directly for a connection's typing frames and ingest's per-sender sends.
 */
export type { RateLimiter, TakeResult, TokenBucketOptions } from './types.js';
export { RateLimitError, type RateLimitErrorContext } from './errors.js';
export { createMemoryRateLimiter, type MemoryRateLimiterOptions } from './memory-rate-limiter.js';
export { TokenBucket, TokenBuckets, type TokenBucketsOptions } from './token-bucket.js';
export { createRedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
