/**
 * The contract suite on real Redis (from `startRedis()`: REDIS_URL, a container, or the native server),
 * plus what only Redis has: sharing through a prefix, the pipelined round trip, the key layout,
 * and the mapping of Redis failures to codes. Every registry gets its own random key prefix, and its
 * keys are deleted when it closes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { randomName, startRedis, waitFor, type RedisServer } from '@chatmesh/testing';
import { Redis } from 'ioredis';
import { createRedisPresenceRegistry, PresenceError, type PresenceRegistry } from '../index.js';
import { runPresenceRegistryContract } from './presence-registry-contract.js';

let serverPromise: Promise<RedisServer> | undefined;
const server = (): Promise<RedisServer> => (serverPromise ??= startRedis());

after(async () => {
  if (serverPromise !== undefined) await (await serverPromise).stop();
});

async function deleteKeys(url: string, keyPrefix: string): Promise<void> {
  const admin = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

/** A registry on its own prefix whose keys are removed on close. */
async function makeRegistry(keyPrefix = `${randomName('test-presence')}:`): Promise<PresenceRegistry> {
  const { url } = await server();
  const registry = await createRedisPresenceRegistry({ url, keyPrefix });
  return {
    ...registry,
    close: async () => {
      await registry.close();
      await deleteKeys(url, keyPrefix);
    },
  };
}

runPresenceRegistryContract('redis', () => makeRegistry());

describe('redis presence registry', () => {
  let url: string;
  let admin: Redis;
  before(async () => {
    url = (await server()).url;
    admin = new Redis(url);
  });
  after(() => admin.disconnect());

  test('two registries on the same prefix share state (a gateway writes, fan-out reads)', async () => {
    const keyPrefix = `${randomName('test-presence')}:`;
    const gateway = await createRedisPresenceRegistry({ url, keyPrefix });
    const fanOut = await createRedisPresenceRegistry({ url, keyPrefix });
    try {
      const instanceId = randomUUID();
      await gateway.acquireGateway({ gatewayId: 'gw-0', instanceId, ttlMs: 60_000 });
      await gateway.registerDevice({
        userId: 'alice',
        deviceId: 'phone',
        gatewayId: 'gw-0',
        gatewayInstanceId: instanceId,
        connectionId: 'c1',
        ttlMs: 60_000,
      });
      assert.deepEqual(
        (await fanOut.onlineDevicesOfUsers(['alice'])).get('alice')?.map((d) => d.gatewayId),
        ['gw-0'],
      );
      await gateway.releaseGateway({ gatewayId: 'gw-0', instanceId });
      assert.deepEqual(await fanOut.onlineDevices('alice'), []);
    } finally {
      await gateway.close();
      await fanOut.close();
      await deleteKeys(url, keyPrefix);
    }
  });

  test('the data layout: a hash per user (hash-tagged, expiring), one lease hash, all under the prefix', async () => {
    const keyPrefix = `${randomName('test-presence')}:`;
    const registry = await createRedisPresenceRegistry({ url, keyPrefix, lastSeenRetentionMs: 3_600_000 });
    try {
      await registry.acquireGateway({ gatewayId: 'gw-0', instanceId: 'i1', ttlMs: 60_000 });
      await registry.registerDevice({
        userId: 'bob',
        deviceId: 'phone',
        gatewayId: 'gw-0',
        gatewayInstanceId: 'i1',
        connectionId: 'c1',
        ttlMs: 60_000,
      });
      await registry.registerDevice({
        userId: 'bob',
        deviceId: 'web',
        gatewayId: 'gw-0',
        connectionId: 'w1',
        ttlMs: 60_000,
      });
      await registry.unregisterDevice({ userId: 'bob', deviceId: 'web', connectionId: 'w1' });
      const keys = (await admin.keys(`${keyPrefix}*`)).sort();
      assert.deepEqual(keys, [`${keyPrefix}gateways`, `${keyPrefix}user:{bob}`]);
      const hash = await admin.hgetall(`${keyPrefix}user:{bob}`);
      assert.deepEqual(Object.keys(hash).sort(), ['d:phone', 'seen']);
      assert.deepEqual(JSON.parse(hash['d:phone'] ?? '{}').c, 'c1');
      const ttlMs = await admin.pttl(`${keyPrefix}user:{bob}`);
      assert.ok(ttlMs > 3_500_000 && ttlMs <= 3_600_000, `the user hash expires after the retention (pttl ${ttlMs})`);
      assert.equal(JSON.parse((await admin.hget(`${keyPrefix}gateways`, 'gw-0')) ?? '{}').i, 'i1');
    } finally {
      await registry.close();
      await deleteKeys(url, keyPrefix);
    }
  });

  test('a write prunes the dead entries of its user server-side and keeps their deadline as last seen', async () => {
    const keyPrefix = `${randomName('test-presence')}:`;
    const registry = await createRedisPresenceRegistry({ url, keyPrefix });
    try {
      await registry.registerDevice({
        userId: 'dan',
        deviceId: 'old',
        gatewayId: 'g',
        connectionId: 'o1',
        ttlMs: 1_000,
      });
      const [old] = await registry.onlineDevices('dan');
      await waitFor(async () => (await registry.onlineDevices('dan')).length === 0, {
        description: 'the entry to expire',
      });
      assert.ok((await admin.hexists(`${keyPrefix}user:{dan}`, 'd:old')) === 1, 'reads never delete');
      await registry.registerDevice({
        userId: 'dan',
        deviceId: 'new',
        gatewayId: 'g',
        connectionId: 'n1',
        ttlMs: 60_000,
      });
      const hash = await admin.hgetall(`${keyPrefix}user:{dan}`);
      assert.deepEqual(Object.keys(hash).sort(), ['d:new', 'seen']);
      assert.equal(Number(hash['seen']), (old?.sinceMs ?? 0) + 1_000);
    } finally {
      await registry.close();
      await deleteKeys(url, keyPrefix);
    }
  });

  test('onlineDevicesOfUsers is one pipelined round trip for 1,024 users', async () => {
    const keyPrefix = `${randomName('test-presence')}:`;
    const client = new Redis(url);
    const registry = await createRedisPresenceRegistry({ redis: client, keyPrefix });
    try {
      const users = Array.from({ length: 1_024 }, (_, i) => `u${i}`);
      await Promise.all(
        users.map((userId) =>
          registry.registerDevice({
            userId,
            deviceId: 'phone',
            gatewayId: 'gw-0',
            connectionId: `c-${userId}`,
            ttlMs: 60_000,
          }),
        ),
      );
      let pipelines = 0;
      let unpipelined = 0;
      let pipelined = 0;
      const originalPipeline = client.pipeline.bind(client);
      const originalSend = client.sendCommand.bind(client);
      client.pipeline = ((...args: Parameters<Redis['pipeline']>) => {
        pipelines += 1;
        return originalPipeline(...args);
      }) as Redis['pipeline'];
      client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
        if ((args[1] as { isPipeline?: boolean } | undefined)?.isPipeline) pipelined += 1;
        else unpipelined += 1;
        return originalSend(...args);
      }) as Redis['sendCommand'];
      const result = await registry.onlineDevicesOfUsers(users);
      client.pipeline = originalPipeline;
      client.sendCommand = originalSend;
      assert.equal(result.size, 1_024);
      assert.ok([...result.values()].every((devices) => devices.length === 1));
      assert.deepEqual({ pipelines, unpipelined, pipelined }, { pipelines: 1, unpipelined: 0, pipelined: 1_025 });
    } finally {
      await registry.close();
      assert.equal(client.status, 'ready', "close() leaves the caller's client open");
      client.disconnect();
      await deleteKeys(url, keyPrefix);
    }
  });

  test('a key of the wrong type under the prefix gives CM_ERR_PRESENCE_REDIS_REPLY', async () => {
    const keyPrefix = `${randomName('test-presence')}:`;
    const registry = await createRedisPresenceRegistry({ url, keyPrefix });
    try {
      await admin.set(`${keyPrefix}user:{carol}`, 'not a hash');
      await assert.rejects(
        registry.registerDevice({ userId: 'carol', deviceId: 'd', gatewayId: 'g', connectionId: 'c', ttlMs: 1_000 }),
        (error: unknown) =>
          error instanceof PresenceError && error.code === 'CM_ERR_PRESENCE_REDIS_REPLY' && !error.retriable,
      );
      await assert.rejects(
        registry.onlineDevices('carol'),
        (error: unknown) => error instanceof PresenceError && error.code === 'CM_ERR_PRESENCE_REDIS_REPLY',
      );
    } finally {
      await registry.close();
      await deleteKeys(url, keyPrefix);
    }
  });

  test('an unreachable Redis gives CM_ERR_PRESENCE_UNAVAILABLE, retriable', async () => {
    await assert.rejects(
      createRedisPresenceRegistry({
        url: 'redis://127.0.0.1:1',
        connectTimeoutMs: 2_000,
        redisOptions: { retryStrategy: () => null },
      }),
      (error: unknown) =>
        error instanceof PresenceError && error.code === 'CM_ERR_PRESENCE_UNAVAILABLE' && error.retriable,
    );
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    client.on('error', () => {});
    await client.connect();
    const registry = await createRedisPresenceRegistry({ redis: client, keyPrefix: `${randomName('test-presence')}:` });
    try {
      assert.deepEqual(await registry.onlineDevices('u1'), []);
      client.disconnect();
      await assert.rejects(
        registry.onlineDevicesOfUsers(['u1', 'u2']),
        (error: unknown) =>
          error instanceof PresenceError && error.code === 'CM_ERR_PRESENCE_UNAVAILABLE' && error.retriable,
      );
      await assert.rejects(
        registry.registerDevice({ userId: 'u', deviceId: 'd', gatewayId: 'g', connectionId: 'c', ttlMs: 1_000 }),
        (error: unknown) => error instanceof PresenceError && error.code === 'CM_ERR_PRESENCE_UNAVAILABLE',
      );
    } finally {
      await registry.close();
    }
  });

  test('contradictory options are refused with CM_ERR_PRESENCE_INVALID_OPTIONS', async () => {
    const client = new Redis(url, { lazyConnect: true });
    try {
      for (const options of [
        {},
        { url, redis: client },
        { url, keyPrefix: 'bad{prefix}' },
        { url, lastSeenRetentionMs: 0 },
      ]) {
        await assert.rejects(
          createRedisPresenceRegistry(options),
          (error: unknown) => error instanceof PresenceError && error.code === 'CM_ERR_PRESENCE_INVALID_OPTIONS',
          JSON.stringify(Object.keys(options)),
        );
      }
    } finally {
      client.disconnect();
    }
  });
});
