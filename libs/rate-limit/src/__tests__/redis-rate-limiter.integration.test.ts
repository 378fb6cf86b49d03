import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomName, startRedis, type RedisServer } from '@chatmesh/testing';
import { Redis } from 'ioredis';
import { createRedisRateLimiter, RateLimitError } from '../index.js';
import { rateLimiterContract } from './rate-limiter-contract.js';

let server: RedisServer;
let shared: Redis;
before(async () => {
  server = await startRedis();
  shared = new Redis(server.url);
});
after(async () => {
  shared?.disconnect();
  await server?.stop();
});

rateLimiterContract('redis', async (options) =>
  createRedisRateLimiter({ ...options, redis: shared, keyPrefix: `${randomName('rate')}:` }),
);

test('redis: two limiters on one prefix share each bucket (the per-user limit across gateways)', async () => {
  const keyPrefix = `${randomName('rate')}:`;
  const a = createRedisRateLimiter({ ratePerSecond: 1, burst: 2, url: server.url, keyPrefix });
  const b = createRedisRateLimiter({ ratePerSecond: 1, burst: 2, url: server.url, keyPrefix });
  try {
    assert.equal((await a.take('alice', 1, 10_000)).allowed, true);
    assert.equal((await b.take('alice', 1, 10_000)).allowed, true);
    assert.equal((await a.take('alice', 1, 10_000)).allowed, false);
    assert.ok((await shared.pttl(`${keyPrefix}alice`)) > 0, 'the bucket expires once it would be full');
  } finally {
    await a.close();
    await b.close();
  }
});

test('redis: an unreachable Redis is CM_ERR_RATE_LIMIT_UNAVAILABLE (retriable)', async () => {
  const limiter = createRedisRateLimiter({ ratePerSecond: 1, burst: 1, url: 'redis://127.0.0.1:1' });
  try {
    await assert.rejects(limiter.take('k'), (error: unknown) => {
      assert.ok(error instanceof RateLimitError);
      assert.equal(error.code, 'CM_ERR_RATE_LIMIT_UNAVAILABLE');
      assert.equal(error.retriable, true);
      return true;
    });
  } finally {
    await limiter.close();
  }
});
