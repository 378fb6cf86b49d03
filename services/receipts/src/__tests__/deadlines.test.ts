import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createMemoryBus, type Bus } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { createLogger } from '@chatmesh/logging';
import { ensureTopics } from '@chatmesh/runtime';
import {
  createLocalCodec,
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type DeliveryFailed,
  type InboxEntry,
} from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import {
  createDeadlineRecorder,
  createDeadlineSweeper,
  deadlineShardOf,
  FAILED_NOTICES_TOPIC,
  type DeadlineSettings,
} from '../deadlines.js';
import { startReceiptsHarness } from './helpers/receipts-harness.js';

const buses: Bus[] = [];
after(async () => Promise.all(buses.map((b) => b.close())));

const SETTINGS: DeadlineSettings = { failAfterMs: 5_000, deadlineBucketMs: 1_000 };
const logger = createLogger({ service: 'deadlines-test', level: 'silent' });

function message(chatId: string, seq: number, from: string, serverTimeMs: number): ChatEvent {
  return {
    chatId,
    seq,
    serverTimeMs,
    origin: { userId: from, deviceId: `${from}-phone`, gatewayId: 'gw', requestId: 'r', receivedAtMs: serverTimeMs },
    event: {
      'chatmesh.chat.MessageReceived': {
        clientMessageId: `c${seq}`,
        content: { body: `m${seq}`, envelopes: [], attachments: [] },
      },
    },
  };
}

async function chatWith(
  store: ChatStore,
  chatId: string,
  kind: 'direct' | 'group',
  users: readonly string[],
): Promise<void> {
  await store.directory.putChat(
    { chatId, kind, name: null, pictureRef: null, createdBy: users[0]!, createdAtMs: 0, updatedAtMs: 0 },
    1,
  );
  for (const userId of users) {
    await store.directory.addMember({ chatId, userId, role: 'member', joinedSeq: 1, removedSeq: null, addedBy: 'x' });
  }
}

test('deadlines: due buckets are swept (two instances race; the sender sees each FAILED once), undelivered recipients become FAILED with a notice on receipts.failed', async () => {
  const bus = createMemoryBus();
  buses.push(bus);
  const codec = createLocalCodec();
  const store = createMemoryStore();
  await ensureTopics(bus, codec, [TOPICS.userInbox, TOPICS.receipts, TOPICS.deliveryFailures]);
  const inbox = await collectRecords(bus, TOPICS.userInbox.name);
  const notices = await collectRecords(bus, FAILED_NOTICES_TOPIC);
  const dlq = await collectRecords(bus, `${TOPICS.receipts.name}.dlq`);
  let now = 1_000;
  const clock = (): number => now;
  const recorder = createDeadlineRecorder({ store, clock }, SETTINGS);
  const sweepers = [1, 2].map(() => createDeadlineSweeper({ store, codec, bus, logger, clock }, SETTINGS));

  await chatWith(store, 'g1', 'group', ['alice', 'bob', 'carol']);
  await chatWith(store, 'd1', 'direct', ['alice', 'dave']);
  const stored = message('g1', 2, 'alice', 1_200);
  const payload = await codec.encode(valueSubjectOf(TOPICS.chatEvents.name), stored);
  await store.chatLog.insertIfAbsent({
    streamId: 'g1',
    seq: 2,
    idempotencyKey: 'c2',
    kind: 'message',
    payload,
    createdAtMs: 1_200,
  });

  // The first sweep sets every shard's cursor to the current bucket (1).
  assert.deepEqual(await sweepers[0]!.sweep(), { bucketsSwept: 0, deadlinesChecked: 0, failed: 0, errors: 0 });
  assert.equal(await store.receipts.sweepCursor(deadlineShardOf('g1')), 1);

  now = 1_300;
  assert.equal(await recorder.record(stored), true);
  assert.equal(await recorder.record(message('d1', 2, 'alice', 1_250)), true);
  assert.equal(
    await recorder.record({
      ...stored,
      event: { 'chatmesh.chat.ChatUpdated': { name: 'x', pictureAttachmentId: null, pictureCleared: false } },
    }),
    false,
    'only messages have deadlines',
  );
  // Due at 6,200: bucket 6.
  assert.deepEqual(await store.receipts.deadlinesIn(deadlineShardOf('g1'), 6), [
    { chatId: 'g1', seq: 2, senderUserId: 'alice', sentAtMs: 1_200 },
  ]);
  await store.receipts.raise('g1', 'bob', { deliveredSeq: 2 });

  // At 6,900 bucket 6 is not over: nothing is due yet.
  now = 6_900;
  const early = await sweepers[0]!.sweep();
  assert.equal(early.failed, 0);
  assert.equal(early.bucketsSwept, 16 * 5, 'buckets 1-5 of every shard');

  now = 7_000;
  // Two instances race: each bucket is swept at least once; one swept by both sends the same FAILED
  // twice, with the same dedupe key, so the inbox sequencer stores it once.
  const outcomes = await Promise.all(sweepers.map((s) => s.sweep()));
  assert.ok(outcomes[0]!.failed + outcomes[1]!.failed >= 2, 'carol (group) and dave (direct)');
  assert.ok(outcomes[0]!.bucketsSwept + outcomes[1]!.bucketsSwept >= 16, 'bucket 6 of every shard');
  for (let shard = 0; shard < 16; shard++) assert.equal(await store.receipts.sweepCursor(shard), 7);

  await waitFor(() => new Set(inbox.map((r) => r.value!.toString('base64'))).size >= 2 && notices.length >= 2, {
    description: 'two FAILED updates and two notices',
  });
  const decoded = await Promise.all(inbox.map(async (r) => (await codec.decode<InboxEntry>(r.value!)).value));
  assert.deepEqual(
    [...new Set(decoded.map((e) => e.dedupeKey))].sort(),
    ['st:d1:FAILED:2:dave', 'st:g1:FAILED:2:carol'],
    'exactly two distinct FAILED updates',
  );
  const entries = [...new Map(decoded.map((e) => [e.dedupeKey, e])).values()];
  const byChat = new Map(entries.map((e) => [e.chatId, e]));
  const failedGroup = byChat.get('g1')!;
  assert.equal(failedGroup.userId, 'alice');
  assert.equal(failedGroup.dedupeKey, 'st:g1:FAILED:2:carol');
  assert.ok('chatmesh.receipts.MessageStatusUpdate' in failedGroup.item);
  assert.deepEqual(
    { ...failedGroup.item['chatmesh.receipts.MessageStatusUpdate'] },
    {
      chatId: 'g1',
      fromSeq: 2,
      upToSeq: 2,
      status: 'FAILED',
      byUserId: 'carol',
      changedAtMs: 7_000,
    },
  );
  const failedDirect = byChat.get('d1')!;
  assert.equal(failedDirect.dedupeKey, 'st:d1:FAILED:2:dave');
  assert.ok('chatmesh.receipts.MessageStatusUpdate' in failedDirect.item);
  assert.equal(failedDirect.item['chatmesh.receipts.MessageStatusUpdate'].byUserId, null, 'direct: no byUserId');

  const decodedNotices = await Promise.all(
    notices.map(async (r) => ({ key: r.key, notice: (await codec.decode<DeliveryFailed>(r.value!)).value })),
  );
  const groupNotice = decodedNotices.find((n) => n.notice.chatId === 'g1')!;
  assert.equal(groupNotice.key, 'g1');
  assert.deepEqual(
    { ...groupNotice.notice, messageEvent: null },
    {
      chatId: 'g1',
      seq: 2,
      senderUserId: 'alice',
      recipientUserId: 'carol',
      sentAtMs: 1_200,
      failedAtMs: 7_000,
      failAfterMs: SETTINGS.failAfterMs,
      messageEvent: null,
    },
  );
  assert.deepEqual(groupNotice.notice.messageEvent, payload, 'the message event as stored');
  assert.equal((await codec.decode<ChatEvent>(groupNotice.notice.messageEvent!)).value.seq, 2);
  const directNotice = decodedNotices.find((n) => n.notice.chatId === 'd1')!;
  assert.equal(directNotice.notice.recipientUserId, 'dave');
  assert.equal(directNotice.notice.messageEvent, null, 'd1 has no chat log row');
  assert.equal(dlq.length, 0, 'FAILED is a notice, not a dead letter: receipts.dlq stays empty');

  // Swept buckets are not swept again.
  now = 7_500;
  assert.deepEqual(
    (await Promise.all(sweepers.map((s) => s.sweep()))).map((o) => o.failed),
    [0, 0],
  );
});

test('deadlines: a bucket whose check fails stays unswept and is swept again at the next sweep (at least once)', async () => {
  const bus = createMemoryBus();
  buses.push(bus);
  const codec = createLocalCodec();
  const memory = createMemoryStore();
  let failing = true;
  // The store is unreachable for the chat's membership read while `failing` (past the in-place retries).
  const store: ChatStore = {
    ...memory,
    directory: {
      ...memory.directory,
      membersAt: async (chatId, seq) => {
        if (failing) throw new Error('store unavailable');
        return memory.directory.membersAt(chatId, seq);
      },
    },
  };
  await ensureTopics(bus, codec, [TOPICS.userInbox, TOPICS.receipts, TOPICS.deliveryFailures]);
  const notices = await collectRecords(bus, FAILED_NOTICES_TOPIC);
  let now = 1_000;
  const clock = (): number => now;
  const recorder = createDeadlineRecorder({ store, clock }, SETTINGS);
  const sweeper = createDeadlineSweeper({ store, codec, bus, logger, clock }, SETTINGS);
  await chatWith(memory, 'flaky', 'direct', ['ann', 'ben']);
  await sweeper.sweep();
  await recorder.record(message('flaky', 2, 'ann', 1_100)); // due at 6,100: bucket 6
  now = 7_000;
  const broken = await sweeper.sweep();
  assert.equal(broken.errors, 1);
  assert.equal(broken.failed, 0);
  assert.equal(await store.receipts.sweepCursor(deadlineShardOf('flaky')), 6, 'the cursor stays on the bucket');
  failing = false;
  const healed = await sweeper.sweep();
  assert.equal(healed.failed, 1, 'the bucket is swept again');
  assert.equal(await store.receipts.sweepCursor(deadlineShardOf('flaky')), 7);
  await waitFor(() => notices.length === 1, { description: 'one notice' });
});

test('deadlines: a message recorded after its deadline (lag, replay) goes to the current bucket instead of a swept one', async () => {
  const bus = createMemoryBus();
  buses.push(bus);
  const codec = createLocalCodec();
  const store = createMemoryStore();
  await ensureTopics(bus, codec, [TOPICS.userInbox, TOPICS.receipts, TOPICS.deliveryFailures]);
  let now = 20_000;
  const clock = (): number => now;
  const recorder = createDeadlineRecorder({ store, clock }, SETTINGS);
  const sweeper = createDeadlineSweeper({ store, codec, bus, logger, clock }, SETTINGS);
  await chatWith(store, 'late', 'direct', ['ann', 'ben']);
  await sweeper.sweep();
  await recorder.record(message('late', 2, 'ann', 100)); // due at 5,100: bucket 5, long swept
  assert.deepEqual(await store.receipts.deadlinesIn(deadlineShardOf('late'), 5), []);
  assert.equal((await store.receipts.deadlinesIn(deadlineShardOf('late'), 20)).length, 1);
  now = 21_000;
  assert.equal((await sweeper.sweep()).failed, 1);
});

test('FAILED end to end (embedded, fail-after 600 ms): the sender is told per recipient and receipts.failed holds the message', async () => {
  const h = await startReceiptsHarness({
    env: {
      CHATMESH_RECEIPTS_FAIL_AFTER_MS: '600',
      CHATMESH_RECEIPTS_DEADLINE_BUCKET_MS: '100',
      CHATMESH_RECEIPTS_SWEEP_INTERVAL_MS: '100',
    },
  });
  try {
    const chat = await h.createGroup('fay', ['gus', 'hal']);
    const seq = await h.send('fay', chat);
    await h.report('gus', chat, 'DELIVERED', seq);
    await waitFor(async () => (await h.statuses('fay', chat)).some((u) => u.status === 'FAILED'), {
      description: 'FAILED in the sender inbox',
    });
    const updates = await h.statuses('fay', chat);
    assert.deepEqual(
      updates.filter((u) => u.status === 'FAILED').map((u) => [u.fromSeq, u.upToSeq, u.byUserId]),
      [[seq, seq, 'hal']],
      'only hal, who never got it',
    );
    await waitFor(() => h.failedNoticeRecords.length === 1, { description: 'one notice' });
    const [notice] = await h.failedNotices();
    assert.equal(notice!.recipientUserId, 'hal');
    assert.equal(notice!.senderUserId, 'fay');
    const row = await h.store.chatLog.get(chat, seq);
    assert.deepEqual(notice!.messageEvent, row!.payload);
    assert.ok((h.counters()['failed'] as number) >= 1);
  } finally {
    await h.close();
  }
});
