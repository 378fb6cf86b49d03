import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness } from './harness.js';

// Findings of an outside probe of the public surface (issue 15, item 8), each pinned by a test.

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

test('a sync past the inbox head is clamped to it, and an ack then never moves the cursor past the head', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const a = await h.connect(alice, 'phone');
  const b = await h.connect(bob, 'laptop');
  await b.waitForFrame((f) => f.type === 'syncDone', 'bob syncDone');
  const chatId = directChatId(alice, bob);
  a.send({ type: 'createChat', requestId: 'r1', chatId, kind: 'direct', members: [bob] });
  a.send({ type: 'send', requestId: 'r2', chatId, clientMessageId: 'm1', body: 'hi' });
  await b.waitForFrame((f) => f.type === 'messageReceived', 'message at bob');

  b.send({ type: 'sync', fromInboxSeq: 1_000 });
  await waitFor(() => b.ofType('syncDone').length === 2, { description: 'second syncDone' });
  assert.equal(b.ofType('syncDone')[1]!['upToInboxSeq'], 2, 'syncDone names the head, not the asked position');
  b.send({ type: 'ack', upToInboxSeq: 1_000 });
  b.send({ type: 'ping', nonce: 'after-ack' });
  await b.waitForFrame((f) => f.type === 'pong' && f['nonce'] === 'after-ack', 'pong');
  assert.equal(await h.store.cursors.get(bob, 'laptop'), 2, 'the cursor stays at the head');

  // The next message is delivered, not skipped.
  a.send({ type: 'send', requestId: 'r3', chatId, clientMessageId: 'm2', body: 'again' });
  const next = await b.waitForFrame((f) => f.type === 'messageReceived' && f['clientMessageId'] === 'm2', 'm2');
  assert.equal(next['inboxSeq'], 3);
  await a.close();
  await b.close();
});
