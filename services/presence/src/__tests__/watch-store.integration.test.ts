import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomName, startRedis, type RedisServer } from '@chatmesh/testing';
import { Redis } from 'ioredis';
import { createRedisWatchStore } from '../index.js';
import { runWatchStoreContract } from './watch-store-contract.js';

let redis: RedisServer;
let client: Redis;

before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});

after(async () => {
  await client?.quit();
  await redis?.stop();
});

runWatchStoreContract('redis watch store', async () => {
  const keyPrefix = randomName('watch-test').replace(/[^A-Za-z0-9._-]/g, '-');
  const store = await createRedisWatchStore({ url: redis.url, keyPrefix });
  return {
    store,
    dispose: async () => {
      await store.close();
      const keys = await client.keys(`${keyPrefix}:*`);
      if (keys.length > 0) await client.del(...keys);
    },
  };
});

test('two presence instances on one prefix share subscriptions and the announced set, and never claim a user twice', async () => {
  const keyPrefix = randomName('watch-shared').replace(/[^A-Za-z0-9._-]/g, '-');
  const one = await createRedisWatchStore({ url: redis.url, keyPrefix });
  const two = await createRedisWatchStore({ url: redis.url, keyPrefix });
  try {
    const nowMs = Date.now();
    const watcher = { userId: 'alice', deviceId: 'phone', gatewayId: 'gw-1', connectionId: 'c1' };
    await one.subscribe(watcher, ['bob'], { replace: true, ttlMs: 60_000, maxTargets: 10, nowMs });
    assert.deepEqual(await two.watchersOf('bob', nowMs), [watcher]);
    assert.equal(await one.announceOnline('bob', nowMs), true);
    assert.equal(await two.announceOnline('bob', nowMs), false, 'the other instance sees bob announced');
    const users = Array.from({ length: 500 }, (_, i) => `user-${i}`);
    for (const userId of users) await one.announceOnline(userId, nowMs);
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? one : two).claimDue(nowMs, nowMs + 1_000 + i, 100)),
    );
    const claimed = claims.flat();
    assert.equal(claimed.length, 501, 'every due user claimed');
    assert.equal(new Set(claimed).size, 501, 'no user claimed twice');
    assert.equal(await two.unsubscribeConnection('alice', 'phone', 'c1'), true);
    assert.deepEqual(await one.watchersOf('bob', nowMs), []);
  } finally {
    await one.close();
    await two.close();
    const keys = await client.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await client.del(...keys);
  }
});
