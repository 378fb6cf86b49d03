import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { createTypedProducer } from '@chatmesh/runtime';
import {
  gatewayDeliveriesTopic,
  TOPICS,
  valueSubjectOf,
  type GatewayDelivery,
  type InboxEntry,
} from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness, type TestClient } from './harness.js';

/** Holds the replay's first store read of one user (after taking its snapshot) until released. */
interface ReplayGate {
  userId: string | null;
  hits: number;
  release: () => void;
  released: Promise<void>;
}

function gatedStore(): { store: ChatStore; gate: ReplayGate } {
  const base = createMemoryStore();
  const gate: ReplayGate = { userId: null, hits: 0, release: () => {}, released: Promise.resolve() };
  const store: ChatStore = {
    ...base,
    inboxLog: {
      ...base.inboxLog,
      async readAfter(streamId, afterSeq, limit) {
        const rows = await base.inboxLog.readAfter(streamId, afterSeq, limit);
        if (streamId === gate.userId) {
          gate.userId = null;
          gate.hits++;
          // The snapshot is taken before the hold: entries sequenced meanwhile reach the gateway only live.
          await gate.released;
        }
        return rows;
      },
    },
  };
  return { store, gate };
}

function armGate(gate: ReplayGate, userId: string): void {
  gate.released = new Promise((resolve) => (gate.release = resolve));
  gate.userId = userId;
}

let h: Harness;
let gate: ReplayGate;
before(async () => {
  const gated = gatedStore();
  gate = gated.gate;
  h = await startHarness({ store: gated.store });
});
after(() => h?.close());

async function sendAndAck(client: TestClient, chatId: string, clientMessageId: string): Promise<void> {
  client.send({ type: 'send', requestId: clientMessageId, chatId, clientMessageId, body: `body ${clientMessageId}` });
  await client.waitForFrame((f) => f.type === 'ack' && f['requestId'] === clientMessageId, `ack of ${clientMessageId}`);
}

/** A chat between two fresh users, created by the first; the second is offline. */
async function chatWithOfflinePeer(): Promise<{ alice: string; bob: string; chatId: string; a: TestClient }> {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const a = await h.connect(alice, 'phone');
  const chatId = directChatId(alice, bob);
  a.send({ type: 'createChat', requestId: 'create', chatId, kind: 'direct', members: [bob] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'create', 'create ack');
  return { alice, bob, chatId, a };
}

test('replay then live: deliveries during the replay are held, then flushed with no gap and no duplicate', async () => {
  const { bob, chatId, a } = await chatWithOfflinePeer();
  await sendAndAck(a, chatId, 'm1');
  await sendAndAck(a, chatId, 'm2');
  await waitFor(async () => (await h.store.inboxLog.readAfter(bob, 0, 10)).length === 3, {
    description: "bob's inbox holds 3",
  });

  armGate(gate, bob);
  const b = await h.connect(bob, 'laptop');
  await waitFor(() => gate.hits === 1, { description: 'the replay read is held' });
  // While bob's replay is stuck on its snapshot (1..3), two more messages are sequenced and routed live.
  await sendAndAck(a, chatId, 'm3');
  await sendAndAck(a, chatId, 'm4');
  await waitFor(() => h.gateway.health().details['heldDeliveries'] === 2, { description: 'two live deliveries held' });
  assert.deepEqual(b.inboxSeqs(), [], 'nothing is sent before the replay');
  assert.equal(b.frames[0]?.type, 'hello');

  gate.release();
  const done = await b.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  assert.equal(done['upToInboxSeq'], 5);
  assert.deepEqual(b.inboxSeqs(), [1, 2, 3, 4, 5]);
  assert.deepEqual(
    b.ofType('messageReceived').map((f) => f['body']),
    ['body m1', 'body m2', 'body m3', 'body m4'],
  );
  assert.equal(b.frames.at(-1)?.type, 'syncDone', 'syncDone comes after every replayed and held entry');

  // Live from here on.
  await sendAndAck(a, chatId, 'm5');
  await b.waitForFrame((f) => f['inboxSeq'] === 6, 'live entry 6');

  // A delivery that skips ahead makes the gateway read the gap; one already sent is dropped.
  const inboxSubject = valueSubjectOf(TOPICS.userInbox.name);
  const stored = (await h.codec.decode<InboxEntry>((await h.store.inboxLog.get(bob, 6))!.payload)).value;
  for (const seq of [7, 8]) {
    const entry: InboxEntry = { ...stored, inboxSeq: seq, dedupeKey: `test:${seq}` };
    await h.store.inboxLog.insertIfAbsent({
      streamId: bob,
      seq,
      idempotencyKey: entry.dedupeKey,
      kind: 'message_received',
      payload: await h.codec.encode(inboxSubject, entry),
      createdAtMs: Date.now(),
    });
  }
  const producer = createTypedProducer(h.bus, h.codec);
  const topic = gatewayDeliveriesTopic(h.gatewayId).name;
  const deliver = async (seq: number) => {
    const entry = (await h.codec.decode<InboxEntry>((await h.store.inboxLog.get(bob, seq))!.payload)).value;
    const delivery: GatewayDelivery = {
      gatewayId: h.gatewayId,
      userId: bob,
      deviceId: 'laptop',
      createdAtMs: Date.now(),
      payload: { 'chatmesh.gateway.InboxDelivery': { entry, content: null } },
    };
    await producer.send(topic, bob, delivery);
  };
  const dropped = await h.metric('chatmesh_gateway_deliveries_dropped_total', { reason: 'duplicate' });
  await deliver(5);
  await deliver(8);
  await b.waitForFrame((f) => f['inboxSeq'] === 8, 'entry 8');
  await waitFor(
    async () => (await h.metric('chatmesh_gateway_deliveries_dropped_total', { reason: 'duplicate' })) > dropped,
    {
      description: 'the duplicate of 5 dropped',
    },
  );
  assert.deepEqual(b.inboxSeqs(), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok((await h.metric('chatmesh_gateway_replayed_entries_total', { reason: 'gap' })) >= 1);
  await a.close();
  await b.close();
});

test('a reconnect resumes after the cursor; sync replays again from a given position', async () => {
  const { bob, chatId, a } = await chatWithOfflinePeer();
  await sendAndAck(a, chatId, 'm1');
  await sendAndAck(a, chatId, 'm2');
  await waitFor(async () => (await h.store.inboxLog.readAfter(bob, 0, 10)).length === 3, {
    description: "bob's inbox holds 3",
  });
  const first = await h.connect(bob, 'tablet');
  await first.waitForFrame((f) => f.type === 'syncDone', 'first syncDone');
  assert.deepEqual(first.inboxSeqs(), [1, 2, 3]);
  first.send({ type: 'ack', upToInboxSeq: 2 });
  await waitFor(async () => (await h.store.cursors.get(bob, 'tablet')) === 2, { description: 'cursor 2' });
  await first.close();

  const second = await h.connect(bob, 'tablet');
  const hello = await second.waitForFrame((f) => f.type === 'hello', 'hello');
  assert.equal(hello['cursor'], 2);
  const done = await second.waitForFrame((f) => f.type === 'syncDone', 'second syncDone');
  assert.equal(done['upToInboxSeq'], 3);
  assert.deepEqual(second.inboxSeqs(), [3], 'only what was not acked');

  second.send({ type: 'sync', fromInboxSeq: 0 });
  await waitFor(() => second.ofType('syncDone').length === 2, { description: 'second syncDone' });
  assert.deepEqual(second.inboxSeqs(), [3, 1, 2, 3]);
  await a.close();
  await second.close();
});

test('the same device connecting again replaces the first connection with 4010', async () => {
  const user = randomName('u');
  const first = await h.connect(user, 'phone');
  await first.waitForFrame((f) => f.type === 'syncDone', 'first syncDone');
  const second = await h.connect(user, 'phone');
  assert.equal((await first.closed).code, 4010);
  second.send({ type: 'ping', nonce: 'n' });
  await second.waitForFrame((f) => f.type === 'pong', 'pong on the new connection');
  await waitFor(async () => (await h.presence.onlineDevices(user)).length === 1, { description: 'one device online' });
  await second.close();
  await waitFor(async () => (await h.presence.onlineDevices(user)).length === 0, {
    description: 'unregistered on close',
  });
});
