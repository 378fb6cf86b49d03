import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimitError, type RateLimiter, type TokenBucketOptions } from '../index.js';

/** Builds a limiter with fresh keys for one test; the suite closes it. */
export type LimiterFactory = (options: TokenBucketOptions) => Promise<RateLimiter>;

/** The behaviour both implementations share; times are pinned with `nowMs`, never slept. */
export function rateLimiterContract(name: string, create: LimiterFactory): void {
  const withLimiter = async (options: TokenBucketOptions, body: (limiter: RateLimiter) => Promise<void>) => {
    const limiter = await create(options);
    try {
      await body(limiter);
    } finally {
      await limiter.close();
    }
  };

  test(`${name}: a fresh bucket allows a burst, then refuses with a retry delay`, () =>
    withLimiter({ ratePerSecond: 2, burst: 3 }, async (limiter) => {
      const t = 1_000_000;
      for (let i = 0; i < 3; i++) assert.equal((await limiter.take('u1', 1, t)).allowed, true);
      const refused = await limiter.take('u1', 1, t);
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      assert.equal(refused.retryAfterMs, 500);
      assert.equal((await limiter.take('u2', 1, t)).allowed, true, 'keys are independent');
    }));

  test(`${name}: tokens come back at the rate and never beyond the burst`, () =>
    withLimiter({ ratePerSecond: 10, burst: 2 }, async (limiter) => {
      const t = 2_000_000;
      await limiter.take('k', 2, t);
      assert.equal((await limiter.take('k', 1, t + 50)).allowed, false, 'half a token is not enough');
      assert.equal((await limiter.take('k', 1, t + 100)).allowed, true);
      const later = await limiter.take('k', 1, t + 60_000);
      assert.equal(later.allowed, true);
      assert.equal(later.remaining, 1, 'refilled to the burst (2), minus this take');
    }));

  test(`${name}: a refused take consumes nothing, and a clock going backwards refills nothing`, () =>
    withLimiter({ ratePerSecond: 1, burst: 2 }, async (limiter) => {
      const t = 3_000_000;
      assert.equal((await limiter.take('k', 2, t)).allowed, true);
      assert.equal((await limiter.take('k', 1, t - 10_000)).allowed, false);
      assert.equal((await limiter.take('k', 1, t + 1_000)).allowed, true, 'one token after one second');
    }));

  test(`${name}: invalid arguments are refused with CM_ERR_RATE_LIMIT_INVALID_ARGUMENT`, async () => {
    await assert.rejects(create({ ratePerSecond: 0, burst: 1 }), (error: unknown) => {
      assert.ok(error instanceof RateLimitError);
      assert.equal(error.code, 'CM_ERR_RATE_LIMIT_INVALID_ARGUMENT');
      return true;
    });
    await withLimiter({ ratePerSecond: 1, burst: 2 }, async (limiter) => {
      for (const [key, cost] of [
        ['', 1],
        ['k', 3],
        ['k', 0],
      ] as const) {
        await assert.rejects(limiter.take(key, cost), (error: unknown) => {
          assert.ok(error instanceof RateLimitError);
          assert.equal(error.code, 'CM_ERR_RATE_LIMIT_INVALID_ARGUMENT');
          return true;
        });
      }
    });
  });
}
