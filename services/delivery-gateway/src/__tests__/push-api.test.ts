import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PushChannelCommand } from '@chatmesh/schemas';
import { TOPICS } from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ withCore: false });
});
after(() => h?.close());

const call = async (method: string, path: string, token: string, body?: unknown) =>
  fetch(`${h.gateway.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

test('PUT /v1/push/channel produces a registration for the caller’s own device on push.registrations', async () => {
  const user = randomName('bob');
  const token = await h.token(user, 'browser');
  const records = await h.collect(TOPICS.pushRegistrations.name);
  const subscription = {
    endpoint: 'https://push.example.com/send/abc',
    expirationTime: null,
    keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) },
  };
  const put = await call('PUT', '/v1/push/channel', token, { provider: 'web_push', subscription });
  assert.equal(put.status, 202);
  const { requestId } = (await put.json()) as { requestId: string };
  const apns = await call('PUT', '/v1/push/channel', await h.token(user, 'iphone'), {
    provider: 'apns',
    token: 'AB'.repeat(32),
    topic: 'com.example.chat',
    environment: 'production',
  });
  assert.equal(apns.status, 202);
  assert.equal((await call('DELETE', '/v1/push/channel', token)).status, 202);
  await waitFor(() => records.length === 3);
  const values = await Promise.all(
    records.map(async (r) => (await h.codec.decode<PushChannelCommand>(r.value!)).value),
  );
  assert.deepEqual(
    values.map((v) => [v.userId, v.deviceId, Object.keys(v.change)[0]]),
    [
      [user, 'browser', 'chatmesh.push.RegisterPushChannel'],
      [user, 'iphone', 'chatmesh.push.RegisterPushChannel'],
      [user, 'browser', 'chatmesh.push.UnregisterPushChannel'],
    ],
  );
  assert.equal(values[0]!.requestId, requestId);
  // Avro decodes to class instances: compare plain copies.
  assert.deepEqual(JSON.parse(JSON.stringify(values[0]!.change)), {
    'chatmesh.push.RegisterPushChannel': {
      provider: 'WEB_PUSH',
      token: null,
      apnsTopic: null,
      apnsEnvironment: null,
      endpoint: subscription.endpoint,
      p256dh: subscription.keys.p256dh,
      auth: subscription.keys.auth,
    },
  });
  assert.equal(
    (values[1]!.change as { 'chatmesh.push.RegisterPushChannel': { token: string } })[
      'chatmesh.push.RegisterPushChannel'
    ].token,
    'ab'.repeat(32),
    'APNs tokens are stored in lower case',
  );
  assert.ok(
    records.every((r) => r.key === user),
    'keyed by user',
  );
});

test('a bad channel is a 400 with CM_ERR_GATEWAY_BAD_REQUEST; no token is a 401; a removed device is a 403', async () => {
  const user = randomName('carol');
  const token = await h.token(user, 'phone');
  for (const body of [
    { provider: 'apns', token: 'zz', topic: 'x', environment: 'sandbox' },
    { provider: 'apns', token: 'ab'.repeat(32), topic: 'x', environment: 'staging' },
    { provider: 'fcm' },
    {
      provider: 'web_push',
      subscription: { endpoint: 'ftp://x', keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) } },
    },
    { provider: 'carrier-pigeon' },
  ]) {
    const response = await call('PUT', '/v1/push/channel', token, body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(((await response.json()) as { code: string }).code, 'CM_ERR_GATEWAY_BAD_REQUEST');
  }
  const anonymous = await fetch(`${h.gateway.url}/v1/push/channel`, { method: 'PUT', body: '{"provider":"inbox"}' });
  assert.equal(anonymous.status, 401);
  await h.store.devices.register(user, 'phone', 1);
  await h.store.devices.remove(user, 'phone', 2);
  const removed = await call('PUT', '/v1/push/channel', token, { provider: 'inbox' });
  assert.equal(removed.status, 403);
  assert.equal(((await removed.json()) as { code: string }).code, 'CM_ERR_DEVICE_REMOVED');
});

test('GET /v1/push/channel shows the device’s channel without its secret; GET /v1/push/inbox lists wake-ups', async () => {
  const user = randomName('dave');
  const token = await h.token(user, 'phone');
  const empty = (await (await call('GET', '/v1/push/channel', token)).json()) as { channel: unknown };
  assert.equal(empty.channel, null);
  await h.store.pushChannels.put(user, 'phone', { provider: 'fcm', token: 'a-long-fcm-registration-token' }, 5);
  assert.deepEqual(await (await call('GET', '/v1/push/channel', token)).json(), {
    channel: { provider: 'fcm', token: 'a-long-f…' },
    registeredAtMs: 5,
  });
  await h.store.pushInbox.record(user, { deviceId: 'page', chatId: 'c-1', badge: 2, atMs: 10, requestId: 'r1' });
  await h.store.pushInbox.record(user, { deviceId: 'page', chatId: 'c-2', badge: 3, atMs: 20, requestId: 'r2' });
  const inbox = (await (await call('GET', '/v1/push/inbox?limit=1', token)).json()) as {
    wakeUps: Array<{ requestId: string }>;
  };
  assert.deepEqual(
    inbox.wakeUps.map((w) => w.requestId),
    ['r2'],
  );
  assert.equal((await call('GET', '/v1/push/inbox?limit=0', token)).status, 400);
});
