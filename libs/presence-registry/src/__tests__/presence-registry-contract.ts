/**
 * The presence registry contract: the same assertions against the in-memory registry and Redis.
 * `make()` is called per test and must return an isolated registry (the Redis one uses a fresh random
 * key prefix each time). Expiry is real time: short TTLs and waitFor, never a fixed sleep.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { waitFor } from '@chatmesh/testing';
import { PresenceError, type OnlineDevice, type PresenceRegistry } from '../index.js';

/** Long enough to never lapse during a test, even on a busy machine. */
const LONG_TTL_MS = 120_000;
/** Short enough to watch expire, long enough that "online right after register" holds under load. */
const SHORT_TTL_MS = 1_000;

const id = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function withRegistry(
  make: () => Promise<PresenceRegistry>,
  body: (registry: PresenceRegistry) => Promise<void>,
): Promise<void> {
  const registry = await make();
  try {
    await body(registry);
  } finally {
    await registry.close();
  }
}

function deviceIds(devices: readonly OnlineDevice[] | undefined): string[] {
  return (devices ?? []).map((d) => d.deviceId);
}

async function assertPresenceError(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PresenceError, `expected a PresenceError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

export function runPresenceRegistryContract(name: string, make: () => Promise<PresenceRegistry>): void {
  describe(`presence registry contract: ${name}`, () => {
    test('register -> online with its gateway, connection and start; nothing else is online', async () => {
      await withRegistry(make, async (registry) => {
        const [user, other] = [id('user'), id('user')];
        const beforeMs = Date.now();
        const online = await registry.registerDevice({
          userId: user,
          deviceId: 'phone',
          gatewayId: 'gw-a',
          connectionId: 'c1',
          ttlMs: LONG_TTL_MS,
        });
        assert.equal(online, true);
        const devices = await registry.onlineDevices(user);
        assert.equal(devices.length, 1);
        const [device] = devices;
        assert.deepEqual(
          { ...device, sinceMs: 0 },
          { deviceId: 'phone', gatewayId: 'gw-a', connectionId: 'c1', sinceMs: 0 },
        );
        assert.ok(device !== undefined && device.sinceMs >= beforeMs && device.sinceMs <= Date.now());
        assert.deepEqual(await registry.onlineDevices(other), []);
        assert.equal(await registry.lastSeen(user), null, 'never offline yet');
        assert.equal(await registry.lastSeen(other), null);
      });
    });

    test('a reconnect replaces the connection; the late close of the old socket changes nothing', async () => {
      await withRegistry(make, async (registry) => {
        const user = id('user');
        const base = { userId: user, deviceId: 'phone', ttlMs: LONG_TTL_MS };
        await registry.registerDevice({ ...base, gatewayId: 'gw-a', connectionId: 'old' });
        await registry.registerDevice({ ...base, gatewayId: 'gw-b', connectionId: 'new' });
        assert.equal(await registry.unregisterDevice({ userId: user, deviceId: 'phone', connectionId: 'old' }), false);
        assert.equal(
          await registry.refreshDevice({ ...base, connectionId: 'old' }),
          false,
          'an old socket cannot refresh',
        );
        const devices = await registry.onlineDevices(user);
        assert.deepEqual(
          devices.map((d) => [d.deviceId, d.gatewayId, d.connectionId]),
          [['phone', 'gw-b', 'new']],
        );
        assert.equal(await registry.lastSeen(user), null, 'the device never went offline');

        const beforeMs = Date.now();
        assert.equal(await registry.unregisterDevice({ userId: user, deviceId: 'phone', connectionId: 'new' }), true);
        const afterMs = Date.now();
        assert.deepEqual(await registry.onlineDevices(user), []);
        const seen = await registry.lastSeen(user);
        assert.ok(
          seen !== null && seen >= beforeMs && seen <= afterMs,
          `lastSeen ${seen} in [${beforeMs}, ${afterMs}]`,
        );
        assert.equal(await registry.unregisterDevice({ userId: user, deviceId: 'phone', connectionId: 'new' }), false);
        assert.equal(
          await registry.unregisterDevice({ userId: id('nobody'), deviceId: 'x', connectionId: 'y' }),
          false,
        );
      });
    });

    test('each unregister sets last seen, and other devices stay online', async () => {
      await withRegistry(make, async (registry) => {
        const user = id('user');
        const base = { userId: user, gatewayId: 'gw-a', ttlMs: LONG_TTL_MS };
        await registry.registerDevice({ ...base, deviceId: 'phone', connectionId: 'p1' });
        await registry.registerDevice({ ...base, deviceId: 'laptop', connectionId: 'l1' });
        await registry.registerDevice({ ...base, deviceId: 'tablet', connectionId: 't1' });
        assert.deepEqual(deviceIds(await registry.onlineDevices(user)), ['laptop', 'phone', 'tablet']);
        assert.equal(await registry.unregisterDevice({ userId: user, deviceId: 'laptop', connectionId: 'l1' }), true);
        const firstSeen = await registry.lastSeen(user);
        assert.ok(firstSeen !== null);
        assert.deepEqual(deviceIds(await registry.onlineDevices(user)), ['phone', 'tablet']);
        await waitFor(() => Date.now() > firstSeen, { description: 'the clock to move past the first unregister' });
        assert.equal(await registry.unregisterDevice({ userId: user, deviceId: 'phone', connectionId: 'p1' }), true);
        const secondSeen = await registry.lastSeen(user);
        assert.ok(secondSeen !== null && secondSeen > firstSeen, 'last seen moves forward with each unregister');
      });
    });

    test('an entry whose TTL lapses goes offline, and last seen is its deadline', async () => {
      await withRegistry(make, async (registry) => {
        const user = id('user');
        await registry.registerDevice({
          userId: user,
          deviceId: 'short',
          gatewayId: 'gw-a',
          connectionId: 's1',
          ttlMs: SHORT_TTL_MS,
        });
        await registry.registerDevice({
          userId: user,
          deviceId: 'long',
          gatewayId: 'gw-a',
          connectionId: 'l1',
          ttlMs: LONG_TTL_MS,
        });
        const devices = await registry.onlineDevices(user);
        assert.deepEqual(deviceIds(devices), ['long', 'short']);
        const shortSince = devices.find((d) => d.deviceId === 'short')?.sinceMs ?? 0;
        await waitFor(async () => deviceIds(await registry.onlineDevices(user)).join() === 'long', {
          description: 'the short-TTL device to expire',
        });
        assert.equal(await registry.lastSeen(user), shortSince + SHORT_TTL_MS);
        assert.equal(
          await registry.refreshDevice({ userId: user, deviceId: 'short', connectionId: 's1', ttlMs: LONG_TTL_MS }),
          false,
          'an expired entry is gone: refresh says so and does not revive it',
        );
        assert.deepEqual(deviceIds(await registry.onlineDevices(user)), ['long']);
        // A later write prunes the dead entry server-side; last seen must survive the pruning.
        await registry.registerDevice({
          userId: user,
          deviceId: 'tablet',
          gatewayId: 'gw-a',
          connectionId: 't1',
          ttlMs: LONG_TTL_MS,
        });
        assert.equal(await registry.lastSeen(user), shortSince + SHORT_TTL_MS);
      });
    });

    test('refreshDevice extends the TTL; refreshDevices does many and reports each', async () => {
      await withRegistry(make, async (registry) => {
        const user = id('user');
        const base = { userId: user, gatewayId: 'gw-a', ttlMs: SHORT_TTL_MS };
        await registry.registerDevice({ ...base, deviceId: 'kept', connectionId: 'k1' });
        await registry.registerDevice({ ...base, deviceId: 'dropped', connectionId: 'd1' });
        await registry.registerDevice({ ...base, deviceId: 'batch', connectionId: 'b1' });
        assert.equal(
          await registry.refreshDevice({ userId: user, deviceId: 'kept', connectionId: 'k1', ttlMs: LONG_TTL_MS }),
          true,
        );
        assert.deepEqual(
          await registry.refreshDevices([
            { userId: user, deviceId: 'batch', connectionId: 'b1', ttlMs: LONG_TTL_MS },
            { userId: user, deviceId: 'batch', connectionId: 'wrong', ttlMs: LONG_TTL_MS },
            { userId: user, deviceId: 'unknown', connectionId: 'u1', ttlMs: LONG_TTL_MS },
            { userId: id('nobody'), deviceId: 'x', connectionId: 'y', ttlMs: LONG_TTL_MS },
          ]),
          [true, false, false, false],
        );
        assert.deepEqual(await registry.refreshDevices([]), []);
        await waitFor(async () => !deviceIds(await registry.onlineDevices(user)).includes('dropped'), {
          description: 'the unrefreshed device to expire',
        });
        assert.deepEqual(deviceIds(await registry.onlineDevices(user)), ['batch', 'kept']);
      });
    });

    test("a dead gateway's devices all go offline when its lease lapses, though their entries remain", async () => {
      await withRegistry(make, async (registry) => {
        const gatewayId = id('gw');
        const instanceId = randomUUID();
        const leaseTtlMs = 1_500;
        await registry.acquireGateway({ gatewayId, instanceId, ttlMs: leaseTtlMs });
        const acquiredMs = Date.now();
        const users = [id('user'), id('user')] as const;
        const bound = { gatewayId, gatewayInstanceId: instanceId, ttlMs: LONG_TTL_MS };
        assert.equal(
          await registry.registerDevice({ ...bound, userId: users[0], deviceId: 'phone', connectionId: 'a1' }),
          true,
        );
        await registry.registerDevice({ ...bound, userId: users[0], deviceId: 'laptop', connectionId: 'a2' });
        await registry.registerDevice({ ...bound, userId: users[1], deviceId: 'phone', connectionId: 'b1' });
        const before = await registry.onlineDevicesOfUsers(users);
        assert.deepEqual(
          [deviceIds(before.get(users[0])), deviceIds(before.get(users[1]))],
          [['laptop', 'phone'], ['phone']],
        );

        // The gateway "dies": nobody refreshes its lease, and nobody unregisters its devices.
        await waitFor(
          async () =>
            [...(await registry.onlineDevicesOfUsers(users)).values()].every((devices) => devices.length === 0),
          { description: 'every device of the dead gateway to go offline' },
        );
        for (const user of users) {
          const seen = await registry.lastSeen(user);
          assert.ok(seen !== null && seen >= acquiredMs && seen <= Date.now(), `lastSeen ${seen} is the lease's end`);
        }
        assert.equal(
          await registry.refreshDevice({ userId: users[1], deviceId: 'phone', connectionId: 'b1', ttlMs: LONG_TTL_MS }),
          true,
          'the device entry itself is still there: only the lease makes it offline',
        );
        assert.deepEqual(await registry.onlineDevices(users[1]), []);
      });
    });

    test('the same instance resumes a lapsed lease; a new instance takes over and its predecessor loses', async () => {
      await withRegistry(make, async (registry) => {
        const gatewayId = id('gw');
        const [first, second] = [randomUUID(), randomUUID()];
        const user = id('user');
        assert.deepEqual(await registry.acquireGateway({ gatewayId, instanceId: first, ttlMs: SHORT_TTL_MS }), {
          previousInstanceId: null,
        });
        assert.equal(await registry.refreshGateway({ gatewayId, instanceId: first, ttlMs: SHORT_TTL_MS }), 'renewed');
        await registry.registerDevice({
          userId: user,
          deviceId: 'phone',
          gatewayId,
          gatewayInstanceId: first,
          connectionId: 'c1',
          ttlMs: LONG_TTL_MS,
        });
        await waitFor(async () => (await registry.onlineDevices(user)).length === 0, {
          description: 'the lease to lapse',
        });
        assert.equal(await registry.refreshGateway({ gatewayId, instanceId: first, ttlMs: LONG_TTL_MS }), 'resumed');
        assert.deepEqual(deviceIds(await registry.onlineDevices(user)), ['phone'], 'its sockets were never closed');

        // A restart under the same gateway id (StatefulSet) must not revive the old process's devices.
        assert.deepEqual(await registry.acquireGateway({ gatewayId, instanceId: second, ttlMs: LONG_TTL_MS }), {
          previousInstanceId: first,
        });
        assert.deepEqual(
          await registry.onlineDevices(user),
          [],
          'devices of the replaced instance are offline at once',
        );
        assert.ok((await registry.lastSeen(user)) !== null);
        assert.equal(await registry.refreshGateway({ gatewayId, instanceId: first, ttlMs: LONG_TTL_MS }), 'lost');
        assert.deepEqual(await registry.onlineDevices(user), [], 'the replaced instance cannot take the lease back');
        assert.equal(
          await registry.registerDevice({
            userId: user,
            deviceId: 'phone',
            gatewayId,
            gatewayInstanceId: first,
            connectionId: 'c2',
            ttlMs: LONG_TTL_MS,
          }),
          false,
          'a registration through the replaced instance is not online',
        );
        assert.equal(
          await registry.registerDevice({
            userId: user,
            deviceId: 'phone',
            gatewayId,
            gatewayInstanceId: second,
            connectionId: 'c3',
            ttlMs: LONG_TTL_MS,
          }),
          true,
        );
        assert.deepEqual(
          (await registry.onlineDevices(user)).map((d) => d.connectionId),
          ['c3'],
        );
        assert.equal(
          await registry.refreshGateway({ gatewayId: id('gw'), instanceId: first, ttlMs: LONG_TTL_MS }),
          'missing',
          'never acquired (or Redis lost it): the gateway acquires again and re-registers its sockets',
        );
      });
    });

    test('releasing a lease takes its devices offline at once; only the holder can release', async () => {
      await withRegistry(make, async (registry) => {
        const gatewayId = id('gw');
        const instanceId = randomUUID();
        const user = id('user');
        await registry.acquireGateway({ gatewayId, instanceId, ttlMs: LONG_TTL_MS });
        await registry.registerDevice({
          userId: user,
          deviceId: 'phone',
          gatewayId,
          gatewayInstanceId: instanceId,
          connectionId: 'c1',
          ttlMs: LONG_TTL_MS,
        });
        assert.equal(await registry.releaseGateway({ gatewayId, instanceId: randomUUID() }), false);
        assert.deepEqual(deviceIds(await registry.onlineDevices(user)), ['phone']);
        const beforeMs = Date.now();
        assert.equal(await registry.releaseGateway({ gatewayId, instanceId }), true);
        assert.deepEqual(await registry.onlineDevices(user), []);
        const seen = await registry.lastSeen(user);
        assert.ok(seen !== null && seen >= beforeMs && seen <= Date.now(), 'last seen is the release time');
        assert.equal(await registry.releaseGateway({ gatewayId: id('gw'), instanceId }), false, 'never acquired');
      });
    });

    test('a device bound to a gateway lease that was never acquired is not online', async () => {
      await withRegistry(make, async (registry) => {
        const user = id('user');
        const online = await registry.registerDevice({
          userId: user,
          deviceId: 'phone',
          gatewayId: id('gw'),
          gatewayInstanceId: randomUUID(),
          connectionId: 'c1',
          ttlMs: LONG_TTL_MS,
        });
        assert.equal(online, false);
        assert.deepEqual(await registry.onlineDevices(user), []);
      });
    });

    test("batch lookup of 1,024 users returns exactly each user's live devices", async () => {
      await withRegistry(make, async (registry) => {
        const live = { gatewayId: id('gw'), instanceId: randomUUID() };
        const dead = { gatewayId: id('gw'), instanceId: randomUUID() };
        await registry.acquireGateway({ ...live, ttlMs: LONG_TTL_MS });
        await registry.acquireGateway({ ...dead, ttlMs: LONG_TTL_MS });
        const users = Array.from({ length: 1_024 }, (_, i) => `${id('member')}-${i}`);
        const expected = new Map<string, string[]>();
        // User i has i % 4 devices; a device through the "dead" gateway is offline once it is released.
        await Promise.all(
          users.map(async (userId, i) => {
            const online: string[] = [];
            for (let d = 0; d < i % 4; d++) {
              const viaDead = d === 2;
              const gateway = viaDead ? dead : live;
              await registry.registerDevice({
                userId,
                deviceId: `dev${d}`,
                gatewayId: gateway.gatewayId,
                gatewayInstanceId: gateway.instanceId,
                connectionId: `${userId}/dev${d}`,
                ttlMs: LONG_TTL_MS,
              });
              if (!viaDead) online.push(`dev${d}`);
            }
            expected.set(userId, online);
          }),
        );
        await registry.releaseGateway(dead);
        const result = await registry.onlineDevicesOfUsers(users);
        assert.equal(result.size, 1_024, 'every requested user is a key, offline ones with []');
        for (const userId of users) {
          const devices = result.get(userId);
          assert.deepEqual(deviceIds(devices), expected.get(userId), `devices of ${userId}`);
          for (const device of devices ?? []) {
            assert.equal(device.gatewayId, live.gatewayId);
            assert.equal(device.connectionId, `${userId}/${device.deviceId}`);
          }
        }
        const seen = await registry.lastSeenOfUsers(users.slice(0, 4));
        assert.deepEqual(
          [...seen.values()].map((ms) => ms !== null),
          [false, false, false, true],
          'only user 3 had a device on the released gateway',
        );
        assert.deepEqual(await registry.onlineDevicesOfUsers([]), new Map());
      });
    });

    test('registries made separately are isolated (own key prefix)', async () => {
      await withRegistry(make, async (a) => {
        await withRegistry(make, async (b) => {
          const user = id('user');
          const gatewayId = id('gw');
          const instanceId = randomUUID();
          await a.acquireGateway({ gatewayId, instanceId, ttlMs: LONG_TTL_MS });
          await a.registerDevice({
            userId: user,
            deviceId: 'phone',
            gatewayId,
            gatewayInstanceId: instanceId,
            connectionId: 'c1',
            ttlMs: LONG_TTL_MS,
          });
          await a.registerDevice({ userId: user, deviceId: 'web', gatewayId, connectionId: 'w1', ttlMs: LONG_TTL_MS });
          await a.unregisterDevice({ userId: user, deviceId: 'web', connectionId: 'w1' });
          assert.deepEqual(deviceIds(await a.onlineDevices(user)), ['phone']);
          assert.deepEqual(await b.onlineDevices(user), []);
          assert.equal(await b.lastSeen(user), null);
          assert.equal(await b.refreshGateway({ gatewayId, instanceId, ttlMs: LONG_TTL_MS }), 'missing');
          assert.equal(await b.unregisterDevice({ userId: user, deviceId: 'phone', connectionId: 'c1' }), false);
          assert.deepEqual(deviceIds(await a.onlineDevices(user)), ['phone']);
        });
      });
    });

    test('bad arguments are refused with CM_ERR_PRESENCE_INVALID_ARGUMENT', async () => {
      await withRegistry(make, async (registry) => {
        const code = 'CM_ERR_PRESENCE_INVALID_ARGUMENT';
        const good = { userId: 'u', deviceId: 'd', gatewayId: 'g', connectionId: 'c', ttlMs: 1_000 };
        await assertPresenceError(registry.registerDevice({ ...good, userId: '' }), code);
        await assertPresenceError(registry.registerDevice({ ...good, ttlMs: 0 }), code);
        await assertPresenceError(registry.registerDevice({ ...good, ttlMs: 1.5 }), code);
        await assertPresenceError(registry.registerDevice({ ...good, gatewayInstanceId: '' }), code);
        await assertPresenceError(registry.refreshDevice({ ...good, connectionId: '' }), code);
        await assertPresenceError(registry.refreshDevices([{ ...good }, { ...good, ttlMs: -1 }]), code);
        await assertPresenceError(registry.unregisterDevice({ ...good, deviceId: '' }), code);
        await assertPresenceError(registry.acquireGateway({ gatewayId: 'g', instanceId: '', ttlMs: 1_000 }), code);
        await assertPresenceError(registry.refreshGateway({ gatewayId: 'g', instanceId: 'i', ttlMs: 0 }), code);
        await assertPresenceError(registry.releaseGateway({ gatewayId: '', instanceId: 'i' }), code);
        await assertPresenceError(registry.onlineDevices(''), code);
        await assertPresenceError(registry.onlineDevicesOfUsers(['a', '']), code);
        await assertPresenceError(registry.lastSeen(''), code);
        const error = await registry.registerDevice({ ...good, userId: '', ttlMs: 0 }).catch((e: unknown) => e);
        assert.ok(error instanceof PresenceError);
        assert.match(error.message, /userId.*ttlMs/s, 'every problem is listed');
        assert.equal(error.retriable, false);
      });
    });

    test('a closed registry refuses calls with CM_ERR_PRESENCE_CLOSED; close is idempotent', async () => {
      const registry = await make();
      await registry.close();
      await registry.close();
      await assertPresenceError(registry.onlineDevices('u'), 'CM_ERR_PRESENCE_CLOSED');
      await assertPresenceError(
        registry.registerDevice({ userId: 'u', deviceId: 'd', gatewayId: 'g', connectionId: 'c', ttlMs: 1_000 }),
        'CM_ERR_PRESENCE_CLOSED',
      );
    });
  });
}
