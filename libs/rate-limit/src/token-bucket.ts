import { BoundedLruMap } from '@chatmesh/lru';
import { validateBucketOptions, validateTake } from './internal/validate.js';
import type { TakeResult, TokenBucketOptions } from './types.js';

/**
 * One token bucket, refilled continuously, held in memory and taken from synchronously: the arithmetic every
 * in-process limit shares (a connection's typing frames, ingest's per-sender sends, the memory rate limiter).
 */
export class TokenBucket {
  readonly #ratePerSecond: number;
  readonly #burst: number;
  #tokens: number;
  #atMs: number;

  /**
   * Starts full at `nowMs`.
   * @throws RateLimitError `CM_ERR_RATE_LIMIT_INVALID_ARGUMENT` for a rate <= 0 or a burst that is not an integer >= 1
   */
  constructor(options: TokenBucketOptions, nowMs: number) {
    validateBucketOptions(options);
    this.#ratePerSecond = options.ratePerSecond;
    this.#burst = options.burst;
    this.#tokens = options.burst;
    this.#atMs = nowMs;
  }

  /**
   * Takes `cost` tokens at `nowMs` when there are enough; a refusal takes nothing. A clock that goes back refills
   * nothing (and does not move the bucket's time back).
   */
  take(cost: number, nowMs: number): TakeResult {
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, nowMs - this.#atMs) * this.#ratePerSecond) / 1000);
    this.#atMs = Math.max(this.#atMs, nowMs);
    const allowed = this.#tokens >= cost;
    if (allowed) this.#tokens -= cost;
    return {
      allowed,
      remaining: Math.floor(this.#tokens),
      retryAfterMs: allowed ? 0 : Math.ceil(((cost - this.#tokens) * 1000) / this.#ratePerSecond),
    };
  }
}

/** Options of {@link TokenBuckets}. */
export interface TokenBucketsOptions extends TokenBucketOptions {
  /**
   * Buckets kept at most; the least recently used go first (a bucket that has refilled is the same as a fresh
   * one, so forgetting an idle one changes nothing). @default 100000
   */
  readonly maxKeys?: number;
}

/** {@link TokenBucket}s by key, in memory and synchronous, bounded by {@link TokenBucketsOptions.maxKeys}. */
export class TokenBuckets {
  readonly #options: TokenBucketOptions;
  readonly #buckets: BoundedLruMap<string, TokenBucket>;

  /** @throws RateLimitError `CM_ERR_RATE_LIMIT_INVALID_ARGUMENT` for a bad rate, burst or maxKeys */
  constructor(options: TokenBucketsOptions) {
    validateBucketOptions(options);
    this.#options = { ratePerSecond: options.ratePerSecond, burst: options.burst };
    this.#buckets = new BoundedLruMap(options.maxKeys ?? 100_000);
  }

  /**
   * Takes `cost` tokens from `key`'s bucket (full when new or forgotten) at `nowMs`.
   * @throws RateLimitError `CM_ERR_RATE_LIMIT_INVALID_ARGUMENT` for an empty key or a cost outside 1..burst
   */
  take(key: string, cost: number, nowMs: number): TakeResult {
    validateTake(key, cost, this.#options.burst);
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#options, nowMs);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(cost, nowMs);
  }

  /** Forgets every bucket. */
  clear(): void {
    this.#buckets.clear();
  }
}
