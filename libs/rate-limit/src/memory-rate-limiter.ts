import { validateBucketOptions, validateTake } from './internal/validate.js';
import type { RateLimiter, TokenBucketOptions } from './types.js';

/** Options of {@link createMemoryRateLimiter}. */
export interface MemoryRateLimiterOptions extends TokenBucketOptions {
  /** @default Date.now */
  readonly clock?: () => number;
  /**
   * Buckets kept at most; the least recently used full-enough ones go first (a bucket that has refilled
   * is the same as a fresh one, so forgetting it changes nothing). @default 100000
   */
  readonly maxKeys?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Token buckets in this process: per-connection limits, and per-user limits in embedded mode (one
 * process holds every connection). Map order is insertion order, so re-inserting on use keeps it LRU.
 * @throws RateLimitError `CM_ERR_RATE_LIMIT_INVALID_ARGUMENT` for a bad rate or burst
 */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  validateBucketOptions(options);
  const { ratePerSecond, burst } = options;
  const clock = options.clock ?? Date.now;
  const maxKeys = options.maxKeys ?? 100_000;
  const buckets = new Map<string, Bucket>();
  return {
    async take(key, cost = 1, nowMs = clock()) {
      validateTake(key, cost, burst);
      const bucket = buckets.get(key) ?? { tokens: burst, atMs: nowMs };
      buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, nowMs - bucket.atMs) * ratePerSecond) / 1000);
      bucket.atMs = Math.max(bucket.atMs, nowMs);
      const allowed = bucket.tokens >= cost;
      if (allowed) bucket.tokens -= cost;
      buckets.set(key, bucket);
      if (buckets.size > maxKeys) {
        const oldest = buckets.keys().next().value;
        if (oldest !== undefined) buckets.delete(oldest);
      }
      return {
        allowed,
        remaining: Math.floor(bucket.tokens),
        retryAfterMs: allowed ? 0 : Math.ceil(((cost - bucket.tokens) * 1000) / ratePerSecond),
      };
    },
    async close() {
      buckets.clear();
    },
  };
}
