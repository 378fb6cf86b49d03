import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTypedProducer } from '@chatmesh/runtime';
import { gatewayDeliveriesTopic, type GatewayDelivery } from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness, type TestClient } from './harness.js';

// The gateway keeps each user's sessions as one session, or an array once several devices are
// connected (no per-device key string, no Set per user): these tests pin the routing on top of it.

let h: Harness;
before(async () => {
  h = await startHarness({ withCore: false });
});
after(async () => {
  await h.close();
});

const typingNotice = (userId: string, deviceId: string | null, chatId: string): GatewayDelivery => ({
  gatewayId: h.gatewayId,
  userId,
  deviceId,
  createdAtMs: Date.now(),
  payload: {
    'chatmesh.gateway.TypingNotice': { chatId, typingUserId: 'someone', typing: true, expiresAtMs: Date.now() + 6000 },
  },
});

async function deliver(delivery: GatewayDelivery): Promise<void> {
  await createTypedProducer(h.bus, h.codec).send(gatewayDeliveriesTopic(h.gatewayId).name, delivery.userId, delivery);
}

const typingIn = (client: TestClient, chatId: string) =>
  client.frames.filter((f) => f.type === 'typing' && f['chatId'] === chatId).length;

const connections = () => h.gateway.health().details['connections'];

async function hello(client: TestClient): Promise<void> {
  await client.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
}

test('a user-wide delivery reaches every device of the user, a device delivery only that one, as devices come and go', async () => {
  const user = randomName('u');
  const other = randomName('o');
  const before = connections();
  const phone = await h.connect(user, 'phone');
  const laptop = await h.connect(user, 'laptop');
  const tablet = await h.connect(user, 'tablet');
  const stranger = await h.connect(other, 'phone');
  await Promise.all([phone, laptop, tablet, stranger].map(hello));
  assert.equal(connections(), Number(before) + 4);

  await deliver(typingNotice(user, null, 'all-1'));
  for (const client of [phone, laptop, tablet]) await client.waitForFrame((f) => f['chatId'] === 'all-1', 'all-1');
  await deliver(typingNotice(user, 'laptop', 'laptop-only'));
  await laptop.waitForFrame((f) => f['chatId'] === 'laptop-only', 'laptop-only');

  // The middle one of three leaves: the other two still get user-wide deliveries, it gets nothing.
  await laptop.close();
  await waitFor(() => connections() === Number(before) + 3, { description: 'laptop gone' });
  await deliver(typingNotice(user, null, 'all-2'));
  await deliver(typingNotice(user, 'laptop', 'laptop-gone'));
  for (const client of [phone, tablet]) await client.waitForFrame((f) => f['chatId'] === 'all-2', 'all-2');
  // The phone replaces itself (4010): one session per device, the tablet untouched.
  const phone2 = await h.connect(user, 'phone');
  await hello(phone2);
  assert.equal((await phone.closed).code, 4010);
  await deliver(typingNotice(user, null, 'all-3'));
  for (const client of [phone2, tablet]) await client.waitForFrame((f) => f['chatId'] === 'all-3', 'all-3');
  await tablet.close();
  await deliver(typingNotice(user, 'phone', 'phone-only'));
  await phone2.waitForFrame((f) => f['chatId'] === 'phone-only', 'phone-only');
  await waitFor(() => connections() === Number(before) + 2, { description: 'phone2 and the stranger left' });

  assert.equal(typingIn(phone, 'laptop-only') + typingIn(tablet, 'laptop-only'), 0, 'device delivery went elsewhere');
  assert.equal(typingIn(laptop, 'all-2') + typingIn(laptop, 'laptop-gone'), 0, 'a closed device gets nothing');
  assert.equal(typingIn(phone, 'all-3'), 0, 'the replaced session gets nothing');
  assert.equal(typingIn(phone2, 'all-3'), 1, 'once each');
  assert.equal(typingIn(tablet, 'all-1') + typingIn(tablet, 'all-2') + typingIn(tablet, 'all-3'), 3, 'once each');
  assert.equal(stranger.frames.filter((f) => f.type === 'typing').length, 0, 'another user gets nothing');
  await Promise.all([phone2.close(), stranger.close()]);
  await waitFor(() => connections() === before, { description: 'all gone' });
});
