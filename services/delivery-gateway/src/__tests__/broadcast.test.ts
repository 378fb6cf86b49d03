import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TOPICS } from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness, type ReceivedFrame, type TestClient } from './harness.js';
import { curveKey, kyberKey } from './signal-keys.js';

// Broadcast chats (big groups) end to end on the embedded stack: ingest, fan-out (threshold 3) and the
// gateway's chat.broadcast consumer, real WebSockets.
let h: Harness;
before(async () => {
  h = await startHarness({ env: { CHATMESH_FAN_OUT_BROADCAST_THRESHOLD: '3' } });
});
after(() => h?.close());

/** The chat frames of one chat a client got, as [type, seq, inboxSeq?]. */
function chatFrames(client: TestClient, chatId: string): ReceivedFrame[] {
  return client.frames.filter((f) => f['chatId'] === chatId && typeof f['seq'] === 'number' && f.type !== 'ack');
}

function messageSeqs(client: TestClient, chatId: string): number[] {
  return chatFrames(client, chatId)
    .filter((f) => f.type === 'messageReceived')
    .map((f) => f['seq'] as number);
}

async function synced(client: TestClient): Promise<void> {
  await client.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
}

async function sendAll(client: TestClient, chatId: string, prefix: string, count: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) {
    const requestId = `${prefix}-${i}`;
    client.send({ type: 'send', requestId, chatId, clientMessageId: requestId, body: `${prefix} ${i}` });
    const ack = await client.waitForFrame((f) => f.type === 'ack' && f['requestId'] === requestId, requestId);
    seqs.push(ack['seq'] as number);
  }
  return seqs;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('a big group: created through every inbox, then each message once per gateway, in order, once per device', async () => {
  const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((n) => randomName(n));
  const a = await h.connect(alice!, 'phone');
  const b = await h.connect(bob!, 'laptop');
  const c = await h.connect(carol!, 'phone');
  await Promise.all([a, b, c].map(synced));
  const chatId = randomName('big');
  const inbox = await h.collect(TOPICS.userInbox.name);
  const broadcast = await h.collect(TOPICS.chatBroadcast.name);

  a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'group', members: [bob, carol, dave], name: 'big' });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'created');
  const created = await b.waitForFrame((f) => f.type === 'chatCreated' && f['chatId'] === chatId, 'chatCreated');
  assert.equal(typeof created['inboxSeq'], 'number', 'the creation comes from the inbox');
  assert.equal(await h.store.broadcastChats.sinceOf(chatId), 2);

  const seqs = await sendAll(a, chatId, 'm', 12);
  assert.deepEqual(seqs, range(2, 13));
  for (const client of [a, b, c]) {
    await waitFor(() => messageSeqs(client, chatId).length >= 12, { description: 'twelve messages' });
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (const client of [a, b, c]) {
    assert.deepEqual(messageSeqs(client, chatId), range(2, 13), 'each message once, in order');
    for (const frame of chatFrames(client, chatId).filter((f) => f.type === 'messageReceived')) {
      assert.equal(frame['inboxSeq'], undefined, 'broadcast frames carry no inbox position');
    }
  }
  assert.equal(broadcast.length, 12, 'one chat.broadcast record per message');
  assert.deepEqual(
    inbox.filter((r) => r.key !== null).length,
    4,
    'the only inbox entries are the four creations (dave offline included)',
  );
  assert.equal(await h.metric('chatmesh_gateway_broadcast_subscriptions'), 3);

  // Dave was offline: at connect he gets the whole backlog before syncDone, then live messages.
  const d = await h.connect(dave!, 'tablet');
  await synced(d);
  const syncDoneAt = d.frames.findIndex((f) => f.type === 'syncDone');
  const before = d.frames.slice(0, syncDoneAt);
  assert.deepEqual(
    before.filter((f) => f['chatId'] === chatId).map((f) => [f.type, f['seq']]),
    [['chatCreated', 1], ...range(2, 13).map((seq) => ['messageReceived', seq])],
  );
  await sendAll(b, chatId, 'n', 2);
  await waitFor(() => messageSeqs(d, chatId).length === 14, { description: 'live after catch-up' });
  assert.deepEqual(messageSeqs(d, chatId), range(2, 15));

  // Dave acks his position in the chat; a reconnect resumes after it. An ack past what was sent is clamped.
  d.send({ type: 'ack', upToInboxSeq: 1, chats: [{ chatId, seq: 10 }] });
  await waitFor(async () => (await h.store.chatCursors.list(dave!, 'tablet')).get(chatId) === 10, {
    description: "dave's position 10",
  });
  d.send({ type: 'ack', upToInboxSeq: 1, chats: [{ chatId, seq: 999 }] });
  await waitFor(async () => (await h.store.chatCursors.list(dave!, 'tablet')).get(chatId) === 15, {
    description: "dave's position clamped to 15",
  });
  await d.close();
  await sendAll(a, chatId, 'o', 2);
  const d2 = await h.connect(dave!, 'tablet');
  await synced(d2);
  await waitFor(() => messageSeqs(d2, chatId).length === 2, { description: 'the two missed messages' });
  assert.deepEqual(messageSeqs(d2, chatId), [16, 17]);
  assert.ok((await h.metric('chatmesh_gateway_receipt_reports_total', { kind: 'DELIVERED' })) >= 1);
  for (const client of [a, b, c, d2]) await client.close();
});

test('members added to a broadcast chat learn of it from their inbox and see only what follows; removed members see nothing more', async () => {
  const [alice, bob, carol, erin] = ['alice', 'bob', 'carol', 'erin'].map((n) => randomName(n));
  const a = await h.connect(alice!, 'phone');
  const c = await h.connect(carol!, 'phone');
  const e = await h.connect(erin!, 'phone');
  await Promise.all([a, c, e].map(synced));
  const chatId = randomName('big');
  a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'group', members: [bob, carol] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'created');
  await sendAll(a, chatId, 'before', 3);

  a.send({ type: 'addMembers', requestId: 'add', chatId, userIds: [erin] });
  const added = await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'add', 'added');
  const addedSeq = added['seq'] as number;
  const erinAdded = await e.waitForFrame((f) => f.type === 'membersAdded' && f['chatId'] === chatId, 'erin added');
  assert.equal(typeof erinAdded['inboxSeq'], 'number');
  // Existing members get the addition from the broadcast.
  const carolAdded = await c.waitForFrame((f) => f.type === 'membersAdded' && f['chatId'] === chatId, 'carol sees it');
  assert.equal(carolAdded['inboxSeq'], undefined);

  await sendAll(a, chatId, 'after', 2);
  await waitFor(() => messageSeqs(e, chatId).length === 2, { description: "erin's two messages" });
  assert.deepEqual(messageSeqs(e, chatId), [addedSeq + 1, addedSeq + 2], 'nothing from before she joined');

  a.send({ type: 'removeMembers', requestId: 'rm', chatId, userIds: [carol] });
  const removed = await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'rm', 'removed');
  const carolRemoved = await c.waitForFrame((f) => f.type === 'membersRemoved' && f['chatId'] === chatId, 'carol out');
  assert.equal(typeof carolRemoved['inboxSeq'], 'number', 'the removed member hears of it from her inbox');
  await e.waitForFrame((f) => f.type === 'membersRemoved' && f['chatId'] === chatId, 'erin sees the removal');
  await sendAll(a, chatId, 'gone', 2);
  await waitFor(() => messageSeqs(e, chatId).length === 4, { description: "erin's later messages" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(
    messageSeqs(c, chatId).every((seq) => seq < (removed['seq'] as number)),
    'carol gets nothing after her removal',
  );
  assert.equal(
    c.frames.filter((f) => f.type === 'membersRemoved' && f['chatId'] === chatId).length,
    1,
    'the removal once, not also from the broadcast',
  );
  for (const client of [a, c, e]) await client.close();
});

test('sync.chats replays a broadcast chat from a seq; a chat the user is not in is refused and nothing is sent', async () => {
  const [alice, bob, carol, mallory] = ['alice', 'bob', 'carol', 'mallory'].map((n) => randomName(n));
  const a = await h.connect(alice!, 'phone');
  const b = await h.connect(bob!, 'phone');
  const m = await h.connect(mallory!, 'phone');
  await Promise.all([a, b, m].map(synced));
  const chatId = randomName('big');
  a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'group', members: [bob, carol] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'created');
  await sendAll(a, chatId, 'm', 4);
  await waitFor(() => messageSeqs(b, chatId).length === 4, { description: "bob's messages" });

  b.send({ type: 'sync', chats: [{ chatId, seq: 2 }] });
  await waitFor(() => messageSeqs(b, chatId).length === 7, { description: 'replayed after 2' });
  assert.deepEqual(messageSeqs(b, chatId), [2, 3, 4, 5, 3, 4, 5]);
  await sendAll(a, chatId, 'n', 1);
  await waitFor(() => messageSeqs(b, chatId).length === 8, { description: 'live again' });
  assert.equal(messageSeqs(b, chatId)[7], 6, 'live continues once after the replay');

  m.send({ type: 'sync', chats: [{ chatId, seq: 0 }] });
  const refused = await m.waitForFrame((f) => f.type === 'error', 'refused');
  assert.equal(refused['code'], 'CM_ERR_CHAT_NOT_FOUND');
  m.send({ type: 'ack', upToInboxSeq: 0, chats: [{ chatId, seq: 3 }] });
  m.send({ type: 'ping', nonce: 'n' });
  await m.waitForFrame((f) => f.type === 'pong', 'pong');
  await sendAll(a, chatId, 'x', 1);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(chatFrames(m, chatId).length, 0, 'an outsider never sees the chat');
  assert.equal((await h.store.chatCursors.list(mallory!, 'phone')).size, 0, 'and stores no position in it');
  for (const client of [a, b, m]) await client.close();
});

test('an end-to-end encrypted message in a broadcast chat: each device gets only its own ciphertext', async () => {
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => randomName(n));
  const a = await h.connect(alice!, 'phone');
  const b = await h.connect(bob!, 'phone');
  const c = await h.connect(carol!, 'phone');
  await Promise.all([a, b, c].map(synced));
  const chatId = randomName('big');
  a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'group', members: [bob, carol] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'created');
  // Envelopes must match the members' keyed devices (docs/e2e.md): bob's and carol's phones have keys.
  for (const userId of [bob!, carol!]) {
    await h.store.devices.register(userId, 'phone', Date.now());
    const signed = (publicKey: Buffer) => ({ keyId: 1, publicKey, signature: Buffer.alloc(64) });
    await h.store.keys.putDeviceKeys(userId, {
      deviceId: 'phone',
      identityKey: curveKey(),
      registrationId: 1,
      signedPreKey: signed(curveKey()),
      kyberLastResort: signed(kyberKey()),
      updatedAtMs: Date.now(),
    });
  }
  const envelopes = [bob, carol].map((userId, i) => ({
    userId,
    deviceId: 'phone',
    ciphertext: Buffer.from(`secret-${i}`).toString('base64'),
    envelopeType: 1,
  }));
  a.send({ type: 'send', requestId: 'e', chatId, clientMessageId: 'e', envelopes });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'e', 'sent');
  const atBob = await b.waitForFrame((f) => f.type === 'messageReceived' && f['chatId'] === chatId, 'bob');
  const atCarol = await c.waitForFrame((f) => f.type === 'messageReceived' && f['chatId'] === chatId, 'carol');
  assert.deepEqual(atBob['envelopes'], [envelopes[0]]);
  assert.deepEqual(atCarol['envelopes'], [envelopes[1]]);
  for (const client of [a, b, c]) await client.close();
});

test('a member removed while offline first gets what came before the removal, then the removal, then nothing', async () => {
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => randomName(n));
  const a = await h.connect(alice!, 'phone');
  let c = await h.connect(carol!, 'phone');
  await Promise.all([a, c].map(synced));
  const chatId = randomName('big');
  a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'group', members: [bob, carol] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'created');
  await sendAll(a, chatId, 'seen', 2);
  await waitFor(() => messageSeqs(c, chatId).length === 2, { description: 'carol has 2 and 3' });
  c.send({ type: 'ack', upToInboxSeq: 1, chats: [{ chatId, seq: 3 }] });
  await waitFor(async () => (await h.store.chatCursors.list(carol!, 'phone')).get(chatId) === 3, {
    description: "carol's position",
  });
  await c.close();
  await sendAll(a, chatId, 'missed', 3);
  a.send({ type: 'removeMembers', requestId: 'rm', chatId, userIds: [carol] });
  const removed = await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'rm', 'removed');
  await sendAll(a, chatId, 'after', 2);

  c = await h.connect(carol!, 'phone');
  await synced(c);
  const frames = chatFrames(c, chatId).map((f) => [f.type, f['seq']]);
  assert.deepEqual(frames, [
    ['messageReceived', 4],
    ['messageReceived', 5],
    ['messageReceived', 6],
    ['membersRemoved', removed['seq']],
  ]);
  await c.close();
  await a.close();
});
