import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createMemoryBus, type Bus } from '@chatmesh/bus';
import { createLogger } from '@chatmesh/logging';
import { createTypedSink } from '@chatmesh/runtime';
import { createLocalCodec, topicSpecs, type InboxEntry } from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore, type SequencedLogStore } from '@chatmesh/store';
import { createInboxSequencer, FreshChatEvents, type SequencerContext } from '../inbox-sequencer.js';

const GATEWAY = 'gw-fresh';
const buses: Bus[] = [];
after(async () => Promise.all(buses.map((b) => b.close())));

function chatEvent(userId: string, chatId: string, chatSeq: number): InboxEntry {
  return {
    userId,
    inboxSeq: null,
    dedupeKey: `chat/${chatId}/${chatSeq}`,
    chatId,
    createdAtMs: chatSeq,
    item: {
      'chatmesh.inbox.ChatEventRef': {
        chatSeq,
        kind: 'MESSAGE_RECEIVED',
        actorUserId: 'someone-else',
        actorDeviceId: 'their-phone',
        clientMessageId: `m${chatSeq}`,
        serverTimeMs: chatSeq,
        affectedUserIds: [],
      },
    },
  };
}

/** A sequencer (the user online, so entries become deliveries) over a store whose inbox key reads are counted. */
async function harness(store: ChatStore) {
  const bus = createMemoryBus();
  buses.push(bus);
  const codec = createLocalCodec();
  await bus.admin.createTopics(topicSpecs({ gatewayIds: [GATEWAY] }));
  let keyReads = 0;
  const inboxLog: SequencedLogStore = {
    ...store.inboxLog,
    findKey: async (...args) => {
      keyReads++;
      return store.inboxLog.findKey(...args);
    },
    findKeys: async (...args) => {
      keyReads++;
      return store.inboxLog.findKeys(...args);
    },
  };
  const sequencer = createInboxSequencer({
    store: { ...store, inboxLog },
    codec,
    bus,
    devices: { onlineDevices: async () => [{ deviceId: 'phone', gatewayId: GATEWAY }] },
    logger: createLogger({ service: 'fresh-test', level: 'silent' }),
    freshChatEvents: new FreshChatEvents(),
  });
  const context = async (): Promise<SequencerContext> => ({
    epoch: await store.writerEpochs.claim('inbox_log'),
    out: createTypedSink(codec, bus),
  });
  return { sequencer, context, keyReads: () => keyReads };
}

describe('inbox sequencer: chat events known to be new skip their key read', () => {
  test('after a created entry of a chat, its later events are appended without a read; old or other entries are read', async () => {
    const { sequencer, context, keyReads } = await harness(createMemoryStore());
    const ctx = await context();
    await sequencer.sequence(chatEvent('ann', 'c1', 1), ctx);
    assert.equal(keyReads(), 1, 'the first event of a chat in an epoch is checked');
    await sequencer.sequence(chatEvent('ann', 'c1', 2), ctx);
    await sequencer.sequenceBatch([chatEvent('ann', 'c1', 3), chatEvent('ann', 'c1', 4)], ctx);
    assert.equal(keyReads(), 1, 'later events of the chat need no read');
    const replay = await sequencer.sequence(chatEvent('ann', 'c1', 2), ctx);
    assert.equal(keyReads(), 2, 'a re-emitted older event is checked');
    assert.deepEqual([replay.inboxSeq, replay.created], [2, false], 'and found, not stored twice');
    await sequencer.sequence(chatEvent('ann', 'c2', 9), ctx);
    assert.equal(keyReads(), 3, 'another chat is checked');
    await sequencer.sequence(chatEvent('ann', 'c1', 5), await context());
    assert.equal(keyReads(), 4, 'a new epoch (a new ownership) checks again');
  });

  test("a new owner replaying the old owner's uncommitted records neither duplicates nor skips", async () => {
    const store = createMemoryStore();
    const old = await harness(store);
    const oldCtx = await old.context();
    for (const seq of [1, 2, 3]) await old.sequencer.sequence(chatEvent('bob', 'c1', seq), oldCtx);
    // The old owner crashed before committing 2 and 3: the new owner gets them again, then new ones.
    const next = await harness(store);
    const ctx = await next.context();
    const outcomes = [];
    for (const seq of [2, 3, 4, 5]) outcomes.push(await next.sequencer.sequence(chatEvent('bob', 'c1', seq), ctx));
    assert.deepEqual(
      outcomes.map((o) => [o.inboxSeq, o.created]),
      [
        [2, false],
        [3, false],
        [4, true],
        [5, true],
      ],
    );
    assert.equal(next.keyReads(), 3, 'found entries keep being checked until one is created; then no reads');
    const rows = await store.inboxLog.readAfter('bob', 0, 10);
    assert.deepEqual(
      rows.map((row) => [row.seq, row.idempotencyKey]),
      [1, 2, 3, 4, 5].map((seq) => [seq, `chat/c1/${seq}`]),
    );
  });
});
