/**
 * The retention contract: rows and keys of the sequenced logs expire after the configured retention, heads never do,
 * and a writer never reuses an expired row's sequence number. Run against the memory store (a fake clock) and
 * Cassandra (TTLs of a few seconds, waited out).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  appendFenced,
  appendFencedBatch,
  FencedHeads,
  type ChatStore,
  type LogEntry,
  type LogRetention,
} from '../index.js';

/** The retention the suite's store must be built with: history forever, inbox rows and both key tables brief. */
export const SHORT_RETENTION: LogRetention = Object.freeze({ chatLogSeconds: 0, chatKeySeconds: 2, inboxSeconds: 2 });

const id = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

function draft(streamId: string, key: string): Omit<LogEntry, 'seq'> {
  return { streamId, idempotencyKey: key, kind: 'message', payload: Buffer.from(key), createdAtMs: Date.now() };
}

/**
 * @param makeStore builds a store with {@link SHORT_RETENTION}
 * @param expire makes everything written so far outlive the retention (moves a fake clock, or waits)
 */
export function runRetentionContractSuite(
  name: string,
  makeStore: () => Promise<ChatStore>,
  expire: () => Promise<void>,
): void {
  describe(`retention contract: ${name}`, () => {
    let store: ChatStore;
    before(async () => {
      store = await makeStore();
    });
    after(async () => {
      await store.close();
    });

    test('inbox rows and keys expire; the head stays, and the next owner continues after it (no reuse)', async () => {
      const user = id('user');
      const logName = id('inbox');
      const epoch = await store.writerEpochs.claim(logName);
      const heads = new FencedHeads();
      await appendFencedBatch(store.inboxLog, heads, [draft(user, 'a'), draft(user, 'b'), draft(user, 'c')], epoch);
      assert.equal((await store.inboxLog.readAfter(user, 0, 10)).length, 3);
      await expire();
      assert.deepEqual(await store.inboxLog.readAfter(user, 0, 10), []);
      assert.equal(await store.inboxLog.get(user, 2), null);
      assert.equal(await store.inboxLog.findKey(user, 'a'), null);
      assert.equal(await store.inboxLog.firstKeptAfter(user, 0, 3), null);
      assert.equal(await store.inboxLog.highestWritten(user, 0), 3, 'the written head never expires');
      assert.ok((await store.inboxLog.getHead(user)) < 3, 'the sparse head hint lags (this test is about the gap)');
      // A new ownership (a restart) recovers from the head: seq 1-3 were acked by devices and must not come again.
      const next = await appendFenced(
        store.inboxLog,
        new FencedHeads(),
        draft(user, 'd'),
        await store.writerEpochs.claim(logName),
      );
      assert.equal(next.entry.seq, 4);
      assert.equal(await store.inboxLog.firstKeptAfter(user, 0, 4), 4);
    });

    test('a stream that filled a bucket and expired whole continues after its last number (the written head walks buckets)', async () => {
      const user = id('user');
      const logName = id('inbox');
      const epoch = await store.writerEpochs.claim(logName);
      const heads = new FencedHeads();
      // 1,003 rows: the stream's first bucket (1-999) is full and the second holds 1,000-1,003.
      for (let start = 0; start < 1003; start += 100) {
        const count = Math.min(100, 1003 - start);
        await appendFencedBatch(
          store.inboxLog,
          heads,
          Array.from({ length: count }, (_, i) => draft(user, `k${start + i}`)),
          epoch,
        );
      }
      await expire();
      assert.deepEqual(await store.inboxLog.readAfter(user, 0, 10), []);
      assert.deepEqual(await store.inboxLog.readBefore(user, 1004, 10), [], 'no phantom row where only the head stays');
      const next = await appendFenced(
        store.inboxLog,
        new FencedHeads(),
        draft(user, 'after'),
        await store.writerEpochs.claim(logName),
      );
      assert.equal(next.entry.seq, 1004);
    });

    test('readAfter stops at an expired hole; firstKeptAfter finds where the log resumes', async () => {
      const user = id('user');
      const epoch = await store.writerEpochs.claim(id('inbox'));
      const heads = new FencedHeads();
      await appendFencedBatch(store.inboxLog, heads, [draft(user, '1'), draft(user, '2')], epoch);
      await expire();
      await appendFencedBatch(store.inboxLog, heads, [draft(user, '3'), draft(user, '4')], epoch);
      assert.deepEqual(await store.inboxLog.readAfter(user, 0, 10), [], 'never a silent jump over lost rows');
      assert.equal(await store.inboxLog.firstKeptAfter(user, 0, 4), 3);
      assert.equal(await store.inboxLog.firstKeptAfter(user, 3, 4), 4);
      assert.equal(await store.inboxLog.firstKeptAfter(user, 4, 9), null);
      assert.deepEqual(
        (await store.inboxLog.readAfter(user, 2, 10)).map((e) => e.seq),
        [3, 4],
      );
    });

    test('the chat log kept forever keeps its rows while its idempotency keys expire', async () => {
      const chat = id('chat');
      const epoch = await store.writerEpochs.claim(id('chat'));
      await appendFenced(store.chatLog, new FencedHeads(), draft(chat, 'm1'), epoch);
      await expire();
      assert.equal((await store.chatLog.get(chat, 1))?.idempotencyKey, 'm1');
      assert.deepEqual(
        (await store.chatLog.readAfter(chat, 0, 10)).map((e) => e.seq),
        [1],
      );
      assert.equal(
        await store.chatLog.findKey(chat, 'm1'),
        null,
        'a retry older than the key retention is not recognised',
      );
      assert.equal((await store.chatLog.findKeys(chat, ['m1'])).size, 0);
    });

    test('rows within the retention read back through every read (get, findKey, firstKeptAfter, readBefore)', async () => {
      const user = id('user');
      const epoch = await store.writerEpochs.claim(id('inbox'));
      await appendFenced(store.inboxLog, new FencedHeads(), draft(user, 'x'), epoch);
      assert.equal(await store.inboxLog.findKey(user, 'x'), 1);
      assert.equal((await store.inboxLog.get(user, 1))?.idempotencyKey, 'x');
      assert.equal(await store.inboxLog.firstKeptAfter(user, 0, 1), 1);
      assert.deepEqual(
        (await store.inboxLog.readBefore(user, 2, 10)).map((e) => e.seq),
        [1],
      );
    });
  });
}
