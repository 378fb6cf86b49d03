/** Settings of one family of buckets (every key gets its own bucket with these). */
export interface TokenBucketOptions {
  /** Tokens added per second (the sustained rate). Must be > 0. */
  readonly ratePerSecond: number;
  /** Bucket size: how many takes may come at once after a quiet period. Must be >= 1. */
  readonly burst: number;
}

/** The answer to one take. */
export interface TakeResult {
  /** True when the tokens were taken; false leaves the bucket as it was. */
  readonly allowed: boolean;
  /** Whole tokens left after this take. */
  readonly remaining: number;
  /** When refused: how long until enough tokens are back; 0 when allowed. */
  readonly retryAfterMs: number;
}

/**
 * Token buckets by key (a user id, a connection id). Both implementations
 * ({@link createMemoryRateLimiter}, {@link createRedisRateLimiter}) pass one contract suite.
 */
export interface RateLimiter {
  /**
   * Takes `cost` tokens (default 1) from `key`'s bucket, which starts full.
   * @throws RateLimitError `CM_ERR_RATE_LIMIT_INVALID_ARGUMENT` for an empty key or a cost outside 1..burst
   * @throws RateLimitError `CM_ERR_RATE_LIMIT_UNAVAILABLE` (retriable) when Redis cannot be reached
   */
  take(key: string, cost?: number, nowMs?: number): Promise<TakeResult>;
  /** Releases what the limiter opened (a client passed in by the caller stays open). Idempotent. */
  close(): Promise<void>;
}
