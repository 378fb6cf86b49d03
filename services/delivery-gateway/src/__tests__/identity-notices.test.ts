import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { randomName } from '@chatmesh/testing';

import { startHarness, type Harness } from './harness.js';
import { keysUpload, TestIdentity } from './signal-keys.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

const putKeys = async (userId: string, deviceId: string, body: unknown) => {
  const res = await fetch(`${h.gateway.url}/v1/keys`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${await h.token(userId, deviceId)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
};

test("a new identity key reaches the online devices of the user's direct contacts and own other devices as a frame", async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const mallory = randomName('mallory');
  const aPhone = await h.connect(alice, 'phone');
  const aLaptop = await h.connect(alice, 'laptop');
  const b = await h.connect(bob, 'phone');
  const m = await h.connect(mallory, 'pc');
  for (const client of [aPhone, aLaptop, b, m]) await client.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  aPhone.send({
    type: 'createChat',
    requestId: 'c1',
    chatId: directChatId(alice, bob),
    kind: 'direct',
    members: [bob],
  });
  await aPhone.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c1', 'chat created');

  await putKeys(alice, 'phone', keysUpload(new TestIdentity()));
  const reinstalled = new TestIdentity();
  await putKeys(alice, 'phone', keysUpload(reinstalled));
  const expected = {
    type: 'identityKeyChanged',
    userId: alice,
    deviceId: 'phone',
    identityKey: reinstalled.publicKey.toString('base64'),
  };
  for (const client of [b, aLaptop]) {
    const frame = await client.waitForFrame((f) => f.type === 'identityKeyChanged', 'identityKeyChanged');
    const { atMs, ...rest } = frame as typeof frame & { atMs: number };
    assert.deepEqual(rest, expected);
    assert.equal(typeof atMs, 'number');
  }
  // Everyone is past the notice: a ping answered after it shows what else arrived.
  for (const client of [b, aLaptop, aPhone, m]) {
    client.send({ type: 'ping', nonce: 'after' });
    await client.waitForFrame((f) => f.type === 'pong' && f['nonce'] === 'after', 'pong');
  }
  assert.equal(b.ofType('identityKeyChanged').length, 1, 'the first upload was no change: one notice only');
  assert.equal(m.ofType('identityKeyChanged').length, 0, 'no shared direct chat: no notice');
  assert.equal(aPhone.ofType('identityKeyChanged').length, 0, 'not to the device itself');
  for (const client of [aPhone, aLaptop, b, m]) await client.close();
});
