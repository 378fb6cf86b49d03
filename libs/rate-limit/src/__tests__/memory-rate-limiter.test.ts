import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryRateLimiter } from '../index.js';
import { rateLimiterContract } from './rate-limiter-contract.js';

rateLimiterContract('memory', async (options) => createMemoryRateLimiter(options));

test('memory: forgetting the least recently used bucket only ever gives a full one back', async () => {
  const limiter = createMemoryRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 2 });
  assert.equal((await limiter.take('a', 1, 0)).allowed, true);
  assert.equal((await limiter.take('b', 1, 0)).allowed, true);
  assert.equal((await limiter.take('a', 1, 0)).allowed, false, 'a is empty and still remembered');
  assert.equal((await limiter.take('c', 1, 0)).allowed, true);
  assert.equal((await limiter.take('b', 1, 0)).allowed, true, 'b (least recently used) was forgotten');
});
