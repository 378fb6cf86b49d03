import { RateLimitError } from '../errors.js';
import type { TokenBucketOptions } from '../types.js';

/** Rejects a rate or burst that would make a bucket useless, with the values and a fix. */
export function validateBucketOptions(options: TokenBucketOptions): void {
  const { ratePerSecond, burst } = options;
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0) || !(Number.isInteger(burst) && burst >= 1)) {
    throw new RateLimitError(
      'CM_ERR_RATE_LIMIT_INVALID_ARGUMENT',
      `a token bucket needs ratePerSecond > 0 and an integer burst >= 1 (got ratePerSecond=${ratePerSecond}, burst=${burst})`,
      { context: { ratePerSecond, burst } },
    );
  }
}

/** Rejects an empty key or a cost the bucket can never pay. */
export function validateTake(key: string, cost: number, burst: number): void {
  if (key.length === 0) {
    throw new RateLimitError('CM_ERR_RATE_LIMIT_INVALID_ARGUMENT', 'the bucket key is empty', { context: { key } });
  }
  if (!Number.isInteger(cost) || cost < 1 || cost > burst) {
    throw new RateLimitError(
      'CM_ERR_RATE_LIMIT_INVALID_ARGUMENT',
      `a take costs an integer 1..burst (${burst}) tokens, got ${cost}`,
      { context: { key, cost, burst } },
    );
  }
}
