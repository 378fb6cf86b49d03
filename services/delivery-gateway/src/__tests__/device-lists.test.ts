import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { randomName } from '@chatmesh/testing';

import { startHarness, type Harness } from './harness.js';
import { curveKey, kyberKey } from './signal-keys.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

/** Registers the device and gives it keys (the store directly: the key API has its own tests). */
async function keyedDevice(userId: string, deviceId: string): Promise<void> {
  await h.store.devices.register(userId, deviceId, Date.now());
  const signed = (publicKey: Buffer) => ({ keyId: 1, publicKey, signature: Buffer.alloc(64) });
  await h.store.keys.putDeviceKeys(userId, {
    deviceId,
    identityKey: curveKey(),
    registrationId: 1,
    signedPreKey: signed(curveKey()),
    kyberLastResort: signed(kyberKey()),
    updatedAtMs: Date.now(),
  });
}

const envelope = (userId: string, deviceId: string) => ({
  userId,
  deviceId,
  ciphertext: Buffer.from(`for ${deviceId}`).toString('base64'),
  envelopeType: 3,
});

test('a send whose envelopes miss or exceed the device lists is refused with the devices, then retried with the same id', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  for (const [user, device] of [
    [alice, 'phone'],
    [alice, 'laptop'],
    [bob, 'phone'],
    [bob, 'tablet'],
    [bob, 'old'],
  ] as const) {
    await keyedDevice(user, device);
  }
  // A device without keys cannot have a session: it is not expected.
  await h.store.devices.register(bob, 'nokeys', Date.now());
  await h.store.devices.remove(bob, 'old', Date.now());
  const a = await h.connect(alice, 'phone');
  const chatId = directChatId(alice, bob);
  a.send({ type: 'createChat', requestId: 'c1', chatId, kind: 'direct', members: [bob] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c1', 'createChat ack');

  a.send({
    type: 'send',
    requestId: 's1',
    chatId,
    clientMessageId: 'm1',
    envelopes: [envelope(bob, 'phone'), envelope(bob, 'old')],
  });
  const refused = await a.waitForFrame((f) => f.type === 'reject' && f['requestId'] === 's1', 'refusal');
  assert.equal(refused['code'], 'CM_ERR_E2E_DEVICE_LIST_MISMATCH');
  assert.equal(refused['clientMessageId'], 'm1');
  assert.equal(refused['retriable'], true);
  // Sorted by user id, as the refusal lists them.
  const missing = [
    { userId: alice, deviceIds: ['laptop'] },
    { userId: bob, deviceIds: ['tablet'] },
  ].sort((x, y) => (x.userId < y.userId ? -1 : 1));
  assert.deepEqual(refused['missingDevices'], missing);
  assert.deepEqual(refused['staleDevices'], [{ userId: bob, deviceIds: ['old'] }]);
  assert.equal((await h.store.chatLog.readAfter(chatId, 1, 10)).length, 0, 'nothing stored');

  a.send({
    type: 'send',
    requestId: 's2',
    chatId,
    clientMessageId: 'm1',
    envelopes: [envelope(bob, 'phone'), envelope(bob, 'tablet'), envelope(alice, 'laptop')],
  });
  const ack = await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 's2', 'ack of the retry');
  assert.deepEqual([ack['clientMessageId'], ack['seq']], ['m1', 2]);
  await a.close();
});

test('a send without envelopes (a plaintext chat) is not checked against device lists', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  await keyedDevice(bob, 'phone');
  const a = await h.connect(alice, 'phone');
  const chatId = directChatId(alice, bob);
  a.send({ type: 'createChat', requestId: 'c1', chatId, kind: 'direct', members: [bob] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c1', 'createChat ack');
  a.send({ type: 'send', requestId: 's1', chatId, clientMessageId: 'm1', body: 'hi' });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 's1', 'ack');
  await a.close();
});
