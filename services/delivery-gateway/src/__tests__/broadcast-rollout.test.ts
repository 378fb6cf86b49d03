import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness } from './harness.js';

// A chat that turns broadcast at an ordinary message (broadcast switched on over existing big groups, or
// the threshold lowered): its members' devices followed it through their inboxes and must follow it on.
test('a chat that turns broadcast at a message keeps reaching the connected members, with no gap and no duplicate', async () => {
  const store = createMemoryStore();
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => randomName(n));
  const chatId = randomName('group');
  const before = await startHarness({ store, env: { CHATMESH_FAN_OUT_BROADCAST_THRESHOLD: '0' } });
  try {
    const a = await before.connect(alice!, 'phone');
    await a.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
    a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'group', members: [bob, carol] });
    await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'created');
    a.send({ type: 'send', requestId: 's2', chatId, clientMessageId: 'm2', body: 'two' });
    await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 's2', 'sent');
  } finally {
    await before.close();
  }
  assert.equal(await store.broadcastChats.sinceOf(chatId), null);

  const after = await startHarness({ store, env: { CHATMESH_FAN_OUT_BROADCAST_THRESHOLD: '3' } });
  try {
    const a = await after.connect(alice!, 'phone');
    const b = await after.connect(bob!, 'laptop');
    for (const client of [a, b]) await client.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
    for (let i = 3; i <= 8; i++) {
      a.send({ type: 'send', requestId: `s${i}`, chatId, clientMessageId: `m${i}`, body: `${i}` });
      await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === `s${i}`, `ack ${i}`);
    }
    // Marked at message 3 (the first this fan-out saw with three members): 3 through the inboxes, 4.. broadcast.
    assert.equal(await store.broadcastChats.sinceOf(chatId), 4);
    const seqs = (): Array<[number, boolean]> =>
      b.frames
        .filter((f) => f.type === 'messageReceived' && f['chatId'] === chatId)
        .map((f) => [f['seq'] as number, typeof f['inboxSeq'] === 'number']);
    await waitFor(() => seqs().length >= 7, { description: "bob's seven messages" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(seqs(), [
      [2, true],
      [3, true],
      [4, false],
      [5, false],
      [6, false],
      [7, false],
      [8, false],
    ]);
  } finally {
    await after.close();
  }
});
