import { TokenBuckets, type TokenBucketsOptions } from './token-bucket.js';
import type { RateLimiter } from './types.js';

/** Options of {@link createMemoryRateLimiter}. */
export interface MemoryRateLimiterOptions extends TokenBucketsOptions {
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * Token buckets in this process behind the {@link RateLimiter} interface: per-connection limits, and per-user
 * limits in embedded mode (one process holds every connection). Code that needs no interface (no Redis twin)
 * uses {@link TokenBuckets} directly.
 * @throws RateLimitError `CM_ERR_RATE_LIMIT_INVALID_ARGUMENT` for a bad rate or burst
 */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  const buckets = new TokenBuckets(options);
  const clock = options.clock ?? Date.now;
  return {
    async take(key, cost = 1, nowMs = clock()) {
      return buckets.take(key, cost, nowMs);
    },
    async close() {
      buckets.clear();
    },
  };
}
