import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isChatmeshError } from '@chatmesh/errors';
import type { PushChannelCommand, RegisterPushChannel } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { createChannelRegistry } from '../registry.js';

const blank: RegisterPushChannel = {
  provider: 'FCM',
  token: null,
  apnsTopic: null,
  apnsEnvironment: null,
  endpoint: null,
  p256dh: null,
  auth: null,
};
const register = (deviceId: string, atMs: number, r: Partial<RegisterPushChannel>): PushChannelCommand => ({
  userId: 'bob',
  deviceId,
  requestId: `r-${atMs}`,
  atMs,
  change: { 'chatmesh.push.RegisterPushChannel': { ...blank, ...r } },
});

test('registrations store one channel per device; a refresh replaces it; unregister and device removal delete it', async () => {
  const store = createMemoryStore();
  const registry = createChannelRegistry(store.pushChannels);
  await registry.apply(register('phone', 1, { token: 'old' }));
  await registry.apply(register('phone', 2, { token: 'new' }));
  await registry.apply(
    register('iphone', 1, { provider: 'APNS', token: 'ab', apnsTopic: 'com.x', apnsEnvironment: 'production' }),
  );
  await registry.apply(
    register('browser', 1, { provider: 'WEB_PUSH', endpoint: 'https://e/1', p256dh: 'p', auth: 'a' }),
  );
  await registry.apply(register('page', 1, { provider: 'INBOX' }));
  assert.deepEqual(
    (await store.pushChannels.list('bob')).map((c) => [c.deviceId, c.channel]),
    [
      ['browser', { provider: 'web_push', endpoint: 'https://e/1', p256dh: 'p', auth: 'a' }],
      ['iphone', { provider: 'apns', token: 'ab', topic: 'com.x', environment: 'production' }],
      ['page', { provider: 'inbox' }],
      ['phone', { provider: 'fcm', token: 'new' }],
    ],
  );
  await registry.apply({
    userId: 'bob',
    deviceId: 'page',
    requestId: 'r',
    atMs: 5,
    change: { 'chatmesh.push.UnregisterPushChannel': { reason: 'client_request' } },
  });
  assert.equal(
    await registry.onPresence({
      userId: 'bob',
      deviceId: 'phone',
      gatewayId: 'gw',
      connectionId: 'http',
      atMs: 6,
      change: { 'chatmesh.presence.DeviceRemoval': { removedDeviceId: 'iphone', requestId: 'x' } },
    }),
    true,
  );
  // A registration that was in flight before the removal does not bring the channel back.
  await registry.apply(
    register('iphone', 3, { provider: 'APNS', token: 'ab', apnsTopic: 'com.x', apnsEnvironment: 'sandbox' }),
  );
  assert.deepEqual(
    (await store.pushChannels.list('bob')).map((c) => c.deviceId),
    ['browser', 'phone'],
  );
});

test('a registration missing what its provider needs is refused with CM_ERR_PUSH_CHANNEL_INVALID', async () => {
  const registry = createChannelRegistry(createMemoryStore().pushChannels);
  for (const bad of [
    { provider: 'FCM' as const },
    { provider: 'APNS' as const, token: 'ab', apnsTopic: 'com.x' },
    { provider: 'APNS' as const, token: 'ab', apnsEnvironment: 'sandbox' },
    { provider: 'WEB_PUSH' as const, endpoint: 'https://e', p256dh: 'p' },
  ]) {
    await assert.rejects(
      registry.apply(register('d', 1, bad)),
      (e: unknown) => isChatmeshError(e) && e.code === 'CM_ERR_PUSH_CHANNEL_INVALID',
    );
  }
});

test('a store failure is CM_ERR_PUSH_STORE_UNAVAILABLE and retriable, so the bus retries it', async () => {
  const failing = createMemoryStore().pushChannels;
  failing.put = async () => {
    throw new Error('NoHostAvailableError');
  };
  const registry = createChannelRegistry(failing);
  await assert.rejects(
    registry.apply(register('d', 1, { token: 't' })),
    (e: unknown) => isChatmeshError(e) && e.code === 'CM_ERR_PUSH_STORE_UNAVAILABLE' && e.retriable,
  );
});
