import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { TOPICS } from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

test('a conversation: create a direct chat, send, the other user receives it, ack moves the cursor', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const a = await h.connect(alice, 'phone');
  const b = await h.connect(bob, 'laptop');
  const helloA = await a.waitForFrame((f) => f.type === 'hello', 'hello');
  assert.deepEqual(
    [helloA['userId'], helloA['deviceId'], helloA['cursor'], helloA['protocol']],
    [alice, 'phone', 0, 3],
  );
  await b.waitForFrame((f) => f.type === 'syncDone', 'bob syncDone');

  const chatId = directChatId(alice, bob);
  a.send({ type: 'createChat', requestId: 'r1', chatId, kind: 'direct', members: [bob] });
  const created = await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'r1', 'createChat ack');
  assert.equal(created['seq'], 1);
  const bobCreated = await b.waitForFrame((f) => f.type === 'chatCreated', 'chatCreated at bob');
  assert.equal(bobCreated['chatId'], chatId);
  assert.equal(bobCreated['kind'], 'direct');

  a.send({ type: 'send', requestId: 'r2', chatId, clientMessageId: 'm1', body: 'hello bob' });
  const ack = await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'r2', 'send ack');
  assert.deepEqual([ack['clientMessageId'], ack['seq']], ['m1', 2]);
  const received = await b.waitForFrame((f) => f.type === 'messageReceived', 'messageReceived at bob');
  assert.equal(received['body'], 'hello bob');
  assert.deepEqual(received['by'], { userId: alice, deviceId: 'phone' });
  assert.equal(received['seq'], 2);
  assert.equal(received['inboxSeq'], 2);

  // Alice's own device gets her message too (the protocol sends it to every device of every member).
  await a.waitForFrame((f) => f.type === 'messageReceived' && f['clientMessageId'] === 'm1', 'own echo');

  b.send({ type: 'ack', upToInboxSeq: 2 });
  await waitFor(async () => (await h.store.cursors.get(bob, 'laptop')) === 2, { description: "bob's cursor at 2" });
  // An ack past what was sent never moves the cursor beyond it.
  b.send({ type: 'ack', upToInboxSeq: 99 });
  b.send({ type: 'ping', nonce: 'after-ack' });
  await b.waitForFrame((f) => f.type === 'pong' && f['nonce'] === 'after-ack', 'pong');
  assert.equal(await h.store.cursors.get(bob, 'laptop'), 2);

  // A retry with the same clientMessageId gets the original ack and stores nothing new.
  a.send({ type: 'send', requestId: 'r3', chatId, clientMessageId: 'm1', body: 'hello bob' });
  const retried = await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'r3', 'retry ack');
  assert.equal(retried['seq'], 2);
  assert.equal((await h.store.chatLog.readAfter(chatId, 0, 10)).length, 2);
  assert.ok((await h.metric('chatmesh_gateway_frames_in_total', { type: 'send' })) >= 2);
  await a.close();
  await b.close();
});

test('a send to a chat the sender is not in is rejected and stores nothing', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const mallory = randomName('mallory');
  const a = await h.connect(alice, 'phone');
  const m = await h.connect(mallory, 'pc');
  const chatId = directChatId(alice, bob);
  a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'direct', members: [bob] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'create ack');
  m.send({ type: 'send', requestId: 'x', chatId, clientMessageId: 'evil', body: 'let me in' });
  const reject = await m.waitForFrame((f) => f.type === 'reject', 'reject');
  assert.deepEqual(
    [reject['requestId'], reject['chatId'], reject['code'], reject['retriable']],
    ['x', chatId, 'CM_ERR_CHAT_NOT_FOUND', false],
  );
  assert.equal((await h.store.chatLog.readAfter(chatId, 0, 10)).length, 1, 'only the creation is stored');
  await a.close();
  await m.close();
});

test('read, typing and presenceSubscribe frames are produced to receipts, ephemeral and presence.events', async () => {
  const receipts = await h.collect(TOPICS.receipts.name);
  const ephemeral = await h.collect(TOPICS.ephemeral.name);
  const presence = await h.collect(TOPICS.presenceEvents.name);
  const user = randomName('u');
  const c = await h.connect(user, 'd1');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  c.send({ type: 'read', chatId: 'chat-1', upToSeq: 7 });
  c.send({ type: 'typing', chatId: 'chat-1', typing: true });
  c.send({ type: 'presenceSubscribe', userIds: ['friend'] });
  await waitFor(() => receipts.length === 1 && ephemeral.length === 1 && presence.length >= 2, {
    description: 'one record on each topic (plus the ONLINE event)',
  });
  const receipt = (await h.codec.decode<Record<string, unknown>>(receipts[0]!.value!)).value;
  assert.deepEqual(
    [receipt['chatId'], receipt['userId'], receipt['deviceId'], receipt['kind'], receipt['upToSeq']],
    ['chat-1', user, 'd1', 'READ', 7],
  );
  assert.equal(receipts[0]!.key, 'chat-1');
  const typing = (await h.codec.decode<{ signal: { typing: boolean }; userId: string }>(ephemeral[0]!.value!)).value;
  assert.deepEqual([typing.userId, typing.signal.typing], [user, true]);
  const changes = await Promise.all(
    presence.map(async (r) => Object.keys((await h.codec.decode<{ change: object }>(r.value!)).value.change)[0]),
  );
  assert.ok(changes.includes('chatmesh.presence.PresenceSubscribe'));
  assert.ok(changes.includes('chatmesh.presence.DeviceStatusChange'));
  await c.close();
});
