import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalCodec, valueSubjectOf, TOPICS, type InboxEntry } from '@chatmesh/schemas';
import { appendFenced, createMemoryStore, FencedHeads } from '@chatmesh/store';
import { countUnread } from '../unread-count.js';

const message = (chatId: string, chatSeq: number, actorUserId: string): InboxEntry => ({
  userId: 'bob',
  inboxSeq: null,
  dedupeKey: `evt:${chatId}:${chatSeq}`,
  chatId,
  createdAtMs: 1,
  item: {
    'chatmesh.inbox.ChatEventRef': {
      chatSeq,
      kind: 'MESSAGE_RECEIVED',
      actorUserId,
      actorDeviceId: 'd',
      clientMessageId: `m${chatSeq}`,
      serverTimeMs: 1,
      affectedUserIds: [],
    },
  },
});
const readPointer = (chatId: string, upToSeq: number): InboxEntry => ({
  userId: 'bob',
  inboxSeq: null,
  dedupeKey: `rp:${chatId}:${upToSeq}`,
  chatId,
  createdAtMs: 1,
  item: { 'chatmesh.inbox.ReadPointerUpdate': { upToSeq, byDeviceId: 'tablet' } },
});
const status = (chatId: string, upToSeq: number): InboxEntry => ({
  userId: 'bob',
  inboxSeq: null,
  dedupeKey: `st:${chatId}:${upToSeq}`,
  chatId,
  createdAtMs: 1,
  item: {
    'chatmesh.receipts.MessageStatusUpdate': {
      chatId,
      fromSeq: 1,
      upToSeq,
      status: 'READ',
      byUserId: null,
      changedAtMs: 1,
    },
  },
});
const kindOf = (entry: InboxEntry) =>
  'chatmesh.inbox.ChatEventRef' in entry.item
    ? 'message_received'
    : 'chatmesh.inbox.ReadPointerUpdate' in entry.item
      ? 'read_pointer'
      : 'status';

test('the badge counts unread messages from others: not receipts, read pointers, own messages or read ones', async () => {
  const store = createMemoryStore();
  const codec = createLocalCodec();
  const heads = new FencedHeads();
  const epoch = await store.writerEpochs.claim('inbox_log');
  const stored: InboxEntry[] = [
    message('c-1', 1, 'alice'), // 1: unread until the read pointer at 5
    status('c-2', 9), // 2: a tick on bob's own message: not a message to read
    message('c-2', 10, 'bob'), // 3: bob's own message from his laptop
    message('c-2', 11, 'carol'), // 4: unread
    readPointer('c-1', 1), // 5: bob read c-1 on his tablet
  ];
  for (const entry of stored) {
    await appendFenced(
      store.inboxLog,
      heads,
      {
        streamId: 'bob',
        idempotencyKey: entry.dedupeKey,
        kind: kindOf(entry),
        createdAtMs: 1,
        payload: (seq) => codec.encode(valueSubjectOf(TOPICS.userInbox.name), { ...entry, inboxSeq: seq }),
      },
      epoch,
    );
  }
  const batch = new Map<number, InboxEntry>([
    [6, message('c-1', 2, 'alice')],
    [7, message('c-3', 1, 'dave')],
  ]);
  const counts = await countUnread({
    inboxLog: store.inboxLog,
    codec,
    userId: 'bob',
    ackedSeq: 0,
    uptoSeqs: [4, 6, 7],
    known: batch,
  });
  assert.deepEqual(counts, [2, 2, 3], 'at 4: c-1#1 and c-2#11; at 6: c-1#1 read, c-1#2 new; at 7: + c-3#1');
  const afterCursor = await countUnread({
    inboxLog: store.inboxLog,
    codec,
    userId: 'bob',
    ackedSeq: 4,
    uptoSeqs: [7],
    known: batch,
  });
  assert.deepEqual(afterCursor, [2], 'what a device acked is not counted');
});
