import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createMemoryBus, type Bus } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { createLogger } from '@chatmesh/logging';
import { createTypedProducer, ensureTopics } from '@chatmesh/runtime';
import {
  createLocalCodec,
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type InboxEntry,
  type ReceiptReport,
} from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import { createReceiptProcessor, type ReceiptProcessorSettings } from '../receipt-processor.js';

const buses: Bus[] = [];
after(async () => Promise.all(buses.map((b) => b.close())));

/** The processor alone on a memory store and bus, with a chat whose log holds messages from the given senders. */
async function setup(
  kind: 'direct' | 'group',
  members: readonly string[],
  senders: readonly string[],
  settings: ReceiptProcessorSettings = { scanLimit: 1_000, perMemberMaxGroup: 256 },
  wrap: (store: ChatStore) => ChatStore = (s) => s,
) {
  const bus = createMemoryBus();
  buses.push(bus);
  const codec = createLocalCodec();
  const store = createMemoryStore();
  await ensureTopics(bus, codec, [TOPICS.userInbox, TOPICS.receipts]);
  const chatId = 'c1';
  await store.directory.putChat(
    { chatId, kind, name: null, pictureRef: null, createdBy: members[0]!, createdAtMs: 0, updatedAtMs: 0 },
    1,
  );
  for (const userId of members) {
    await store.directory.addMember({ chatId, userId, role: 'member', joinedSeq: 1, removedSeq: null, addedBy: 'x' });
  }
  const subject = valueSubjectOf(TOPICS.chatEvents.name);
  const origin = (userId: string) => ({ userId, deviceId: 'd', gatewayId: 'gw', requestId: 'r', receivedAtMs: 0 });
  const events: ChatEvent[] = [
    {
      chatId,
      seq: 1,
      serverTimeMs: 1,
      origin: origin(members[0]!),
      event: { 'chatmesh.chat.ChatUpdated': { name: 'x', pictureAttachmentId: null, pictureCleared: false } },
    },
    ...senders.map((from, i): ChatEvent => ({
      chatId,
      seq: i + 2,
      serverTimeMs: i + 2,
      origin: origin(from),
      event: {
        'chatmesh.chat.MessageReceived': {
          clientMessageId: `m${i}`,
          content: { body: 'x', envelopes: [], attachments: [] },
        },
      },
    })),
  ];
  for (const event of events) {
    await store.chatLog.insertIfAbsent({
      streamId: chatId,
      seq: event.seq,
      idempotencyKey: `k${event.seq}`,
      kind: event.seq === 1 ? 'chat_updated' : 'message',
      payload: await codec.encode(subject, event),
      createdAtMs: 0,
    });
  }
  await store.chatLog.raiseHead(chatId, events.length);
  const inbox = await collectRecords(bus, TOPICS.userInbox.name);
  const processor = createReceiptProcessor(
    {
      store: wrap(store),
      codec,
      bus,
      typed: createTypedProducer(bus, codec),
      logger: createLogger({ service: 'test', level: 'silent' }),
    },
    settings,
  );
  const report = (userId: string, kind: 'DELIVERED' | 'READ', upToSeq: number): ReceiptReport => ({
    chatId,
    userId,
    deviceId: `${userId}-d`,
    gatewayId: 'gw',
    requestId: 'local:x:1',
    kind,
    upToSeq,
    reportedAtMs: 0,
  });
  /**
   * The entries produced so far, as `user STATUS from-upTo by` (read pointers as `user rp upTo`), grouped by
   * user (a stable sort: each user's own order is kept; users are on different partitions, so unordered).
   */
  const produced = async (count: number): Promise<string[]> => {
    await waitFor(() => inbox.length >= count, { description: `${count} inbox records` });
    const entries = await Promise.all(inbox.map(async (r) => (await codec.decode<InboxEntry>(r.value!)).value));
    return entries
      .map((e) => {
        if ('chatmesh.receipts.MessageStatusUpdate' in e.item) {
          const u = e.item['chatmesh.receipts.MessageStatusUpdate'];
          return `${e.userId} ${u.status} ${u.fromSeq}-${u.upToSeq} ${u.byUserId ?? '*'}`;
        }
        if ('chatmesh.inbox.ReadPointerUpdate' in e.item) {
          return `${e.userId} rp ${e.item['chatmesh.inbox.ReadPointerUpdate'].upToSeq}`;
        }
        return 'other';
      })
      .sort((x, y) => (x.split(' ')[0]! < y.split(' ')[0]! ? -1 : x.split(' ')[0]! > y.split(' ')[0]! ? 1 : 0));
  };
  return { store, processor, report, produced, inbox, chatId };
}

test('a head hint that lags does not refuse a report of a message that is stored', async () => {
  const t = await setup('direct', ['a', 'b'], ['a', 'a'], undefined, (store) => ({
    ...store,
    chatLog: { ...store.chatLog, getHead: async () => 1 },
  }));
  const outcome = await t.processor.process(t.report('b', 'DELIVERED', 3));
  assert.equal(outcome.outcome, 'applied');
  assert.deepEqual(await t.produced(1), ['a DELIVERED 1-3 *']);
  const beyond = await t.processor.process(t.report('b', 'DELIVERED', 4));
  assert.equal(beyond.code, 'CM_ERR_RECEIPTS_BEYOND_HEAD');
});

test('a jump longer than the scan limit tells only the senders of its newest part', async () => {
  // seq 2 from s1, 3-5 from s2.
  const t = await setup('group', ['r', 's1', 's2'], ['s1', 's2', 's2', 's2'], { scanLimit: 2, perMemberMaxGroup: 256 });
  const outcome = await t.processor.process(t.report('r', 'DELIVERED', 5));
  assert.equal(outcome.scanTruncated, true);
  assert.deepEqual(await t.produced(1), ['s2 DELIVERED 1-5 r']);
  assert.equal(t.inbox.length, 1, 's1, whose message is in the part not read, gets nothing');
});

test('groups larger than the per-member limit get the aggregate only', async () => {
  const t = await setup('group', ['s', 'x', 'y'], ['s'], { scanLimit: 100, perMemberMaxGroup: 2 });
  assert.equal((await t.processor.process(t.report('x', 'DELIVERED', 2))).memberUpdates, 0);
  const last = await t.processor.process(t.report('y', 'DELIVERED', 2));
  assert.deepEqual([last.memberUpdates, last.aggregateUpdates], [0, 1]);
  assert.deepEqual(await t.produced(1), ['s DELIVERED 1-2 *']);
});

test('group READ aggregate: a member with read receipts off does not count (it would reveal when they read)', async () => {
  const t = await setup('group', ['s', 'x', 'y'], ['s']);
  await t.store.settings.put('y', { readReceipts: false }, 1);
  await t.processor.process(t.report('y', 'DELIVERED', 2)); // y has not read (and would never say so)
  await t.processor.process(t.report('x', 'READ', 2));
  assert.deepEqual(await t.produced(6), [
    's DELIVERED 1-2 y',
    's DELIVERED 1-2 x',
    's DELIVERED 1-2 *',
    's READ 1-2 x',
    's READ 1-2 *',
    'x rp 2',
  ]);
});

test('reports of the sender about their own messages tick nothing; a stale report changes nothing', async () => {
  const t = await setup('direct', ['a', 'b'], ['a', 'b']);
  const own = await t.processor.process(t.report('a', 'DELIVERED', 2));
  assert.deepEqual([own.outcome, own.memberUpdates + own.aggregateUpdates], ['applied', 0]);
  await t.processor.process(t.report('a', 'READ', 3));
  assert.equal((await t.processor.process(t.report('a', 'READ', 2))).outcome, 'unchanged');
  assert.equal((await t.processor.process(t.report('a', 'DELIVERED', 3))).outcome, 'unchanged');
  assert.deepEqual(await t.produced(3), ['a rp 3', 'b DELIVERED 3-3 *', 'b READ 1-3 *']);
  assert.deepEqual(await t.store.receipts.pointers(t.chatId, 'a'), { deliveredSeq: 3, readSeq: 3 });
});

test("a direct chat's members are read once, and a message the chat events showed stored is not read back", async () => {
  const reads = { members: 0, rows: 0 };
  const counting = (store: ChatStore): ChatStore => ({
    ...store,
    directory: {
      ...store.directory,
      currentMembers: async (chatId) => {
        reads.members++;
        return store.directory.currentMembers(chatId);
      },
    },
    chatLog: {
      ...store.chatLog,
      get: async (streamId, seq) => {
        reads.rows++;
        return store.chatLog.get(streamId, seq);
      },
    },
  });
  const t = await setup('direct', ['a', 'b'], ['a', 'a', 'a'], undefined, counting);
  t.processor.noteStored(t.chatId, 3);
  assert.equal((await t.processor.process(t.report('b', 'DELIVERED', 2))).outcome, 'applied');
  assert.equal((await t.processor.process(t.report('b', 'DELIVERED', 3))).outcome, 'applied');
  assert.deepEqual(reads, { members: 1, rows: 0 });
  // Past what it knows, one read proves the row is there; past the log, the report is refused.
  assert.equal((await t.processor.process(t.report('b', 'DELIVERED', 4))).outcome, 'applied');
  assert.equal(reads.rows, 1);
  assert.equal((await t.processor.process(t.report('b', 'DELIVERED', 5))).code, 'CM_ERR_RECEIPTS_BEYOND_HEAD');
  assert.equal((await t.processor.process(t.report('x', 'DELIVERED', 4))).code, 'CM_ERR_RECEIPTS_NOT_A_MEMBER');
  assert.equal(reads.members, 1);
});

test("a group's members are read on every report: a removed member is refused at once", async () => {
  const t = await setup('group', ['a', 'b', 'c'], ['a', 'a']);
  assert.equal((await t.processor.process(t.report('c', 'DELIVERED', 2))).outcome, 'applied');
  await t.store.directory.removeMember(t.chatId, 'c', 4);
  assert.equal((await t.processor.process(t.report('c', 'DELIVERED', 3))).code, 'CM_ERR_RECEIPTS_NOT_A_MEMBER');
});

test("a chat's pointers are read once per ownership of its partition, and kept as this processor raises them", async () => {
  let reads = 0;
  const t = await setup('direct', ['a', 'b'], ['a', 'a', 'a'], undefined, (store) => ({
    ...store,
    receipts: {
      ...store.receipts,
      pointersOfChat: async (chatId) => {
        reads++;
        return store.receipts.pointersOfChat(chatId);
      },
    },
  }));
  const owner = { assignmentId: 'a1' };
  // Read once and kept even when a report moves nothing (a's pointer, raised before this ownership).
  await t.store.receipts.raise(t.chatId, 'a', { deliveredSeq: 4 });
  assert.equal((await t.processor.process(t.report('a', 'DELIVERED', 4), owner)).outcome, 'unchanged');
  assert.equal((await t.processor.process(t.report('b', 'DELIVERED', 2), owner)).outcome, 'applied');
  assert.equal((await t.processor.process(t.report('b', 'DELIVERED', 3), owner)).outcome, 'applied');
  // Kept, not re-read: the kept pointer (3) makes a repeated report a no-op, as the store would.
  assert.equal((await t.processor.process(t.report('b', 'DELIVERED', 3), owner)).outcome, 'unchanged');
  assert.equal(reads, 1);
  assert.deepEqual(await t.produced(2), ['a DELIVERED 1-2 *', 'a DELIVERED 3-3 *']);
  // Another ownership (after a rebalance) reads them again.
  assert.equal((await t.processor.process(t.report('b', 'DELIVERED', 4), { assignmentId: 'a2' })).outcome, 'applied');
  assert.equal(reads, 2);
});
