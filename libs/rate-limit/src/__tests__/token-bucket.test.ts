import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket, TokenBuckets } from '../index.js';

test('a bucket starts full, refuses past its burst, and refills continuously at its rate', () => {
  const bucket = new TokenBucket({ ratePerSecond: 2, burst: 3 }, 0);
  assert.deepEqual(
    [1, 2, 3, 4].map(() => bucket.take(1, 0).allowed),
    [true, true, true, false],
  );
  assert.deepEqual(bucket.take(1, 250), { allowed: false, remaining: 0, retryAfterMs: 250 });
  assert.equal(bucket.take(1, 500).allowed, true, 'half a second at 2/s is one token');
  assert.equal(bucket.take(1, 10_000).remaining, 2, 'never more than the burst');
});

test('a clock that goes back refills nothing', () => {
  const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 }, 1_000);
  assert.equal(bucket.take(1, 1_000).allowed, true);
  assert.equal(bucket.take(1, 0).allowed, false);
  assert.equal(bucket.take(1, 1_999).allowed, false);
  assert.equal(bucket.take(1, 2_000).allowed, true);
});

test('keyed buckets are independent, and a forgotten one comes back full', () => {
  const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 1 });
  assert.equal(buckets.take('a', 1, 0).allowed, true);
  assert.equal(buckets.take('a', 1, 0).allowed, false);
  assert.equal(buckets.take('b', 1, 0).allowed, true, 'b has its own bucket');
  assert.equal(buckets.take('a', 1, 0).allowed, true, 'a was forgotten past maxKeys, so it is full again');
});

test('bad options and takes are refused with CM_ERR_RATE_LIMIT_INVALID_ARGUMENT', () => {
  const code = { code: 'CM_ERR_RATE_LIMIT_INVALID_ARGUMENT' };
  assert.throws(() => new TokenBucket({ ratePerSecond: 0, burst: 1 }, 0), code);
  assert.throws(() => new TokenBuckets({ ratePerSecond: 1, burst: 0.5 }), code);
  const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 2 });
  assert.throws(() => buckets.take('', 1, 0), code);
  assert.throws(() => buckets.take('a', 3, 0), code);
});
