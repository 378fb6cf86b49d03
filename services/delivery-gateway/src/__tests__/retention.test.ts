/**
 * Retention (issue 15 item 6): inbox entries that expired before a device came back are named in a `syncGap` frame
 * (never skipped in silence), and the history API names what the chat log no longer keeps. A memory store on a fake
 * clock: the inbox keeps entries 60 s, the chat log 120 s.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { createMemoryStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness, type TestClient } from './harness.js';

let now = Date.now();
let h: Harness;
before(async () => {
  const store = createMemoryStore({
    retention: { chatLogSeconds: 120, chatKeySeconds: 120, inboxSeconds: 60 },
    clock: () => now,
  });
  h = await startHarness({ store });
});
after(() => h?.close());

async function send(client: TestClient, chatId: string, id: string): Promise<void> {
  client.send({ type: 'send', requestId: id, chatId, clientMessageId: id, body: id });
  await client.waitForFrame((f) => f.type === 'ack' && f['requestId'] === id, `ack of ${id}`);
}

async function history(userId: string, chatId: string, after: number): Promise<Record<string, unknown>> {
  const token = await h.token(userId, 'phone');
  const response = await fetch(`${h.gateway.url}/v1/chats/${encodeURIComponent(chatId)}/messages?after=${after}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  return (await response.json()) as Record<string, unknown>;
}

test('a device back after its inbox entries expired gets a syncGap naming them, then the kept entries, in order', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const chatId = directChatId(alice, bob);
  const a = await h.connect(alice, 'phone');
  a.send({ type: 'createChat', requestId: 'create', chatId, kind: 'direct', members: [bob] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'create', 'create ack');
  await send(a, chatId, 'm1');
  await send(a, chatId, 'm2');
  await waitFor(async () => (await h.store.inboxLog.readAfter(bob, 0, 10)).length === 3, {
    description: "bob's inbox holds 3",
  });
  const first = await h.connect(bob, 'phone');
  await first.waitForFrame((f) => f.type === 'syncDone', 'first syncDone');
  first.send({ type: 'ack', upToInboxSeq: 1 });
  await waitFor(async () => (await h.store.cursors.get(bob, 'phone')) === 1, { description: 'cursor 1' });
  await first.close();

  now += 61_000; // inbox entries 1-3 expire; the chat log keeps its rows
  await send(a, chatId, 'm3');
  await waitFor(async () => (await h.store.inboxLog.get(bob, 4)) !== null, { description: 'inbox entry 4' });
  const lostBefore = await h.metric('chatmesh_gateway_inbox_expired_entries_total');

  const back = await h.connect(bob, 'phone');
  await back.waitForFrame((f) => f.type === 'syncDone', 'syncDone after the gap');
  const seen = back.frames
    .filter((f) => f.type !== 'hello' && f.type !== 'presence' && f.type !== 'receipt')
    .map((f) =>
      f.type === 'syncGap'
        ? `gap:${String(f['fromInboxSeq'])}-${String(f['toInboxSeq'])}`
        : `${f.type}:${String(f['inboxSeq'] ?? f['upToInboxSeq'])}`,
    );
  assert.deepEqual(seen, ['gap:2-3', 'messageReceived:4', 'syncDone:4']);
  assert.equal((await h.metric('chatmesh_gateway_inbox_expired_entries_total')) - lostBefore, 2);

  // The chat log still keeps everything: the history after the device's last chat seq (1, the creation) is whole.
  const page = await history(bob, chatId, 1);
  assert.deepEqual(
    (page['events'] as Array<{ seq: number }>).map((e) => e.seq),
    [2, 3, 4],
  );
  assert.equal(page['expired'], undefined);

  // An ack up to the gap's end is taken (the gap was "sent"); a reconnect then starts after it, with no gap.
  back.send({ type: 'ack', upToInboxSeq: 4 });
  await waitFor(async () => (await h.store.cursors.get(bob, 'phone')) === 4, { description: 'cursor 4' });
  await back.close();
  const again = await h.connect(bob, 'phone');
  await again.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  assert.equal(again.ofType('syncGap').length, 0);
  await again.close();

  now += 61_000; // the chat log's rows 1-3 (written 122 s ago) expire; row 4 (61 s ago) stays
  const older = await history(bob, chatId, 0);
  assert.deepEqual(older['expired'], { fromSeq: 1, toSeq: 3 });
  assert.deepEqual(
    (older['events'] as Array<{ seq: number }>).map((e) => e.seq),
    [4],
  );
  assert.equal(older['lastSeq'], 4);
  await a.close();
});

test('a sync from an expired position gets a syncGap, and live entries then follow without another gap', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const chatId = directChatId(alice, bob);
  const a = await h.connect(alice, 'phone');
  a.send({ type: 'createChat', requestId: 'create', chatId, kind: 'direct', members: [bob] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'create', 'create ack');
  await send(a, chatId, 'm1');
  await waitFor(async () => (await h.store.inboxLog.get(bob, 2)) !== null, { description: 'inbox entry 2' });
  const b = await h.connect(bob, 'phone');
  await b.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  now += 61_000;
  b.send({ type: 'sync', fromInboxSeq: 0 });
  await waitFor(() => b.ofType('syncDone').length === 2, { description: 'second syncDone' });
  const gap = b.ofType('syncGap')[0];
  assert.deepEqual([gap?.['fromInboxSeq'], gap?.['toInboxSeq']], [1, 2]);
  await send(a, chatId, 'm2');
  const live = await b.waitForFrame((f) => f.type === 'messageReceived' && f['inboxSeq'] === 3, 'live m2');
  assert.equal(live['seq'], 3);
  assert.equal(b.ofType('syncGap').length, 1, 'no second gap: the live entry follows the first');
  await a.close();
  await b.close();
});
