import { after, before } from 'node:test';
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
