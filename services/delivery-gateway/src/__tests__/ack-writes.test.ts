import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness } from './harness.js';

test('an ack that repeats the stored inbox position writes nothing; a higher one writes once', async () => {
  const memory = createMemoryStore();
  const writes: Array<[string, number]> = [];
  const store: ChatStore = {
    ...memory,
    cursors: {
      ...memory.cursors,
      advance: async (userId, deviceId, seq) => {
        writes.push([userId, seq]);
        return memory.cursors.advance(userId, deviceId, seq);
      },
    },
  };
  const h = await startHarness({ store });
  try {
    const [alice, bob] = [randomName('alice'), randomName('bob')];
    const a = await h.connect(alice, 'phone');
    const b = await h.connect(bob, 'phone');
    await b.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
    const chatId = directChatId(alice, bob);
    a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'direct', members: [bob] });
    await b.waitForFrame((f) => f.type === 'chatCreated', 'chatCreated');
    const bobWrites = (): number[] => writes.filter(([user]) => user === bob).map(([, seq]) => seq);
    for (let i = 0; i < 5; i++) b.send({ type: 'ack', upToInboxSeq: 1 });
    b.send({ type: 'ack', upToInboxSeq: 0 });
    b.send({ type: 'ping', nonce: 'n' });
    await b.waitForFrame((f) => f.type === 'pong', 'pong');
    await waitFor(() => bobWrites().length >= 1, { description: "bob's cursor written" });
    assert.deepEqual(bobWrites(), [1], 'five acks of position 1 and one of 0: one write');
    assert.equal(await memory.cursors.get(bob, 'phone'), 1);
    await a.close();
    await b.close();
  } finally {
    await h.close();
  }
});

test("acks and pings are bounded by the connection's bucket, not the user's shared one", async () => {
  const h = await startHarness({
    env: { CHATMESH_GATEWAY_USER_RATE_PER_SECOND: '1', CHATMESH_GATEWAY_USER_BURST: '2' },
  });
  try {
    const [alice, bob] = [randomName('alice'), randomName('bob')];
    const a = await h.connect(alice, 'phone');
    await a.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
    for (let i = 0; i < 10; i++) a.send({ type: 'ack', upToInboxSeq: 0 });
    a.send({ type: 'ping', nonce: 'after-acks' });
    await a.waitForFrame((f) => f.type === 'pong' && f['nonce'] === 'after-acks', 'pong');
    assert.deepEqual(a.ofType('error'), [], 'ten acks and a ping took nothing from the user bucket of 2');
    const chatId = directChatId(alice, bob);
    for (let i = 0; i < 4; i++) a.send({ type: 'typing', chatId, typing: true });
    await a.waitForFrame((f) => f.type === 'error' && f['code'] === 'CM_ERR_PROTOCOL_RATE_LIMITED', 'limited');
    await a.close();
  } finally {
    await h.close();
  }
});
