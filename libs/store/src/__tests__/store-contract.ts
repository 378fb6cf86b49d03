/**
 * The store contract suite: the same assertions against the in-process store and Cassandra.
 * Each test works in its own streams (random ids), so one keyspace serves the whole run.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { appendOnce, LOG_BUCKET_SIZE, StreamHeads, type ChatStore, type LogEntry } from '../index.js';

const id = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

function draft(streamId: string, key: string, kind = 'message'): Omit<LogEntry, 'seq'> {
  return {
    streamId,
    idempotencyKey: key,
    kind,
    payload: Buffer.from(`payload:${key}`),
    createdAtMs: 1_700_000_000_000,
  };
}

export function runStoreContractSuite(name: string, makeStore: () => Promise<ChatStore>): void {
  describe(`store contract: ${name}`, () => {
    let store: ChatStore;
    before(async () => {
      store = await makeStore();
    });
    after(async () => {
      await store.close();
    });

    test('appendOnce assigns 1, 2, 3... and a retried key returns the original entry', async () => {
      const chat = id('chat');
      const heads = new StreamHeads();
      const first = await appendOnce(store.chatLog, heads, draft(chat, 'm1'));
      const second = await appendOnce(store.chatLog, heads, draft(chat, 'm2'));
      const retried = await appendOnce(store.chatLog, heads, { ...draft(chat, 'm1'), payload: Buffer.from('changed') });
      assert.deepEqual([first.entry.seq, second.entry.seq], [1, 2]);
      assert.equal(first.created, true);
      assert.equal(retried.created, false);
      assert.equal(retried.entry.seq, 1);
      assert.equal(retried.entry.payload.toString(), 'payload:m1', 'the original body wins, nothing is overwritten');
      assert.deepEqual(
        (await store.chatLog.readAfter(chat, 0, 10)).map((e) => e.idempotencyKey),
        ['m1', 'm2'],
      );
    });

    test('a new writer (empty head cache) continues the sequence without gaps or reuse', async () => {
      const chat = id('chat');
      const crashed = new StreamHeads();
      for (let i = 1; i <= 5; i++) await appendOnce(store.chatLog, crashed, draft(chat, `k${i}`));
      const next = new StreamHeads();
      const sixth = await appendOnce(store.chatLog, next, draft(chat, 'k6'));
      assert.equal(sixth.entry.seq, 6);
    });

    test('a crash after the row but before its key index: the retry finds the row, no duplicate', async () => {
      const chat = id('chat');
      const heads = new StreamHeads();
      await appendOnce(store.chatLog, heads, draft(chat, 'a'));
      // Simulate the predecessor dying right after its conditional insert: row 2 exists, no key, no head.
      const orphan: LogEntry = { ...draft(chat, 'b'), seq: 2 };
      assert.deepEqual(await store.chatLog.insertIfAbsent(orphan), { applied: true });
      const retried = await appendOnce(store.chatLog, new StreamHeads(), draft(chat, 'b'));
      assert.equal(retried.created, false);
      assert.equal(retried.entry.seq, 2);
      const third = await appendOnce(store.chatLog, new StreamHeads(), draft(chat, 'c'));
      assert.equal(third.entry.seq, 3);
      assert.equal(await store.chatLog.findKey(chat, 'b'), 2, 'the key index was repaired');
    });

    test('a zombie writer with a stale head cannot overwrite a sequence number', async () => {
      const chat = id('chat');
      const zombie = new StreamHeads();
      const owner = new StreamHeads();
      await appendOnce(store.chatLog, zombie, draft(chat, 'x1'));
      await appendOnce(store.chatLog, owner, draft(chat, 'x2')); // owner recovers head 1, writes 2
      const late = await appendOnce(store.chatLog, zombie, draft(chat, 'x3')); // zombie thinks head is 1
      assert.equal(late.entry.seq, 3);
      const all = await store.chatLog.readAfter(chat, 0, 10);
      assert.deepEqual(
        all.map((e) => [e.seq, e.idempotencyKey]),
        [
          [1, 'x1'],
          [2, 'x2'],
          [3, 'x3'],
        ],
      );
      const conflict = await store.chatLog.insertIfAbsent({ ...draft(chat, 'evil'), seq: 2 });
      assert.equal(conflict.applied, false);
      assert.equal(conflict.applied === false && conflict.existing.idempotencyKey, 'x2');
    });

    test('a payload built from the sequence number embeds the number it was appended at', async () => {
      const chat = id('chat');
      const heads = new StreamHeads();
      await appendOnce(store.chatLog, heads, draft(chat, 'p1'));
      const built = await appendOnce(store.chatLog, heads, {
        ...draft(chat, 'p2'),
        payload: async (seq) => Buffer.from(`event#${seq}`),
      });
      assert.equal(built.entry.seq, 2);
      assert.equal((await store.chatLog.get(chat, 2))?.payload.toString(), 'event#2');
    });

    test('reads cross bucket boundaries in both directions', async () => {
      const user = id('user');
      const heads = new StreamHeads();
      const total = LOG_BUCKET_SIZE + 5;
      // Write directly past the boundary to keep the test fast: rows 990..1004 plus the head.
      for (let seq = LOG_BUCKET_SIZE - 10; seq <= total - 1; seq++) {
        await store.inboxLog.insertIfAbsent({ ...draft(user, `k${seq}`), seq });
      }
      const after = await store.inboxLog.readAfter(user, LOG_BUCKET_SIZE - 5, 100);
      assert.deepEqual(
        after.map((e) => e.seq),
        Array.from({ length: 9 }, (_, i) => LOG_BUCKET_SIZE - 4 + i),
      );
      const page = await store.inboxLog.readAfter(user, LOG_BUCKET_SIZE - 5, 3);
      assert.deepEqual(
        page.map((e) => e.seq),
        [LOG_BUCKET_SIZE - 4, LOG_BUCKET_SIZE - 3, LOG_BUCKET_SIZE - 2],
      );
      const before = await store.inboxLog.readBefore(user, LOG_BUCKET_SIZE + 2, 5);
      assert.deepEqual(
        before.map((e) => e.seq),
        [1001, 1000, 999, 998, 997].map((s) => s - 1000 + LOG_BUCKET_SIZE),
      );
      void heads;
    });

    test('heads and cursors only move forward', async () => {
      const stream = id('s');
      await store.inboxLog.raiseHead(stream, 7);
      await store.inboxLog.raiseHead(stream, 3);
      assert.equal(await store.inboxLog.getHead(stream), 7);
      const user = id('user');
      await store.cursors.advance(user, 'phone', 10);
      await store.cursors.advance(user, 'phone', 4);
      await store.cursors.advance(user, 'laptop', 2);
      assert.equal(await store.cursors.get(user, 'phone'), 10);
      assert.equal(await store.cursors.get(user, 'tablet'), 0);
      assert.deepEqual(await store.cursors.listDevices(user), [
        { deviceId: 'laptop', ackedSeq: 2 },
        { deviceId: 'phone', ackedSeq: 10 },
      ]);
    });

    test('membership intervals answer "members at sequence N", including after removal and rejoin', async () => {
      const chat = id('chat');
      const [alice, bob] = [id('alice'), id('bob')];
      await store.directory.putChat(
        {
          chatId: chat,
          kind: 'group',
          name: 'G',
          pictureRef: null,
          createdBy: alice,
          createdAtMs: 1,
          updatedAtMs: 1,
        },
        1,
      );
      await store.directory.addMember({
        chatId: chat,
        userId: alice,
        role: 'admin',
        joinedSeq: 1,
        removedSeq: null,
        addedBy: alice,
      });
      await store.directory.addMember({
        chatId: chat,
        userId: bob,
        role: 'member',
        joinedSeq: 1,
        removedSeq: null,
        addedBy: alice,
      });
      await store.directory.removeMember(chat, bob, 5);
      await store.directory.removeMember(chat, bob, 5); // idempotent
      const names = async (seq: number): Promise<string[]> =>
        (await store.directory.membersAt(chat, seq)).map((m) => m.userId).sort();
      assert.deepEqual(await names(4), [alice, bob].sort());
      assert.deepEqual(await names(5), [alice], 'a removed member receives nothing from the removal on');
      await store.directory.addMember({
        chatId: chat,
        userId: bob,
        role: 'member',
        joinedSeq: 9,
        removedSeq: null,
        addedBy: alice,
      });
      assert.deepEqual(await names(7), [alice]);
      assert.deepEqual(await names(9), [alice, bob].sort());
      assert.equal((await store.directory.currentMembers(chat)).length, 2);
      assert.deepEqual(await store.directory.chatsOfUser(bob), [{ chatId: chat, role: 'member', joinedSeq: 9 }]);
      assert.equal((await store.directory.getChat(chat))?.name, 'G');
      // Replays of older events change nothing: a rename at seq 3 after one at seq 8, a re-add after removal.
      const base = (await store.directory.getChat(chat))!;
      await store.directory.putChat({ ...base, name: 'newer' }, 8);
      await store.directory.putChat({ ...base, name: 'older' }, 3);
      assert.equal((await store.directory.getChat(chat))?.name, 'newer');
      await store.directory.removeMember(chat, bob, 12);
      await store.directory.addMember({
        chatId: chat,
        userId: bob,
        role: 'member',
        joinedSeq: 9,
        removedSeq: null,
        addedBy: alice,
      });
      assert.deepEqual(await names(12), [alice], 'a replayed add does not reopen a closed interval');
      assert.deepEqual(await store.directory.chatsOfUser(bob), []);
      assert.equal(await store.directory.getChat(id('none')), null);
    });

    test('receipt pointers only rise, per member, whatever order reports arrive in', async () => {
      const chat = id('chat');
      assert.deepEqual(await store.receipts.pointers(chat, 'u1'), { deliveredSeq: 0, readSeq: 0 });
      await store.receipts.raise(chat, 'u1', { deliveredSeq: 5 });
      await store.receipts.raise(chat, 'u1', { deliveredSeq: 3, readSeq: 2 });
      await store.receipts.raise(chat, 'u2', { deliveredSeq: 7, readSeq: 7 });
      await store.receipts.raise(chat, 'u2', { readSeq: 4 });
      assert.deepEqual(await store.receipts.pointers(chat, 'u1'), { deliveredSeq: 5, readSeq: 2 });
      const all = await store.receipts.pointersOfChat(chat);
      assert.deepEqual(
        [...all.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
        [
          ['u1', { deliveredSeq: 5, readSeq: 2 }],
          ['u2', { deliveredSeq: 7, readSeq: 7 }],
        ],
      );
      assert.equal((await store.receipts.pointersOfChat(id('none'))).size, 0);
    });

    test('delivery deadlines are write-once per (chat, seq) and the sweep cursor is compare-and-set', async () => {
      const shard = 1000 + Math.floor(Math.random() * 1_000_000);
      const chat = id('chat');
      const d = { chatId: chat, seq: 3, senderUserId: 'alice', sentAtMs: 1_700_000_000_000 };
      await store.receipts.addDeadline(shard, 42, d);
      await store.receipts.addDeadline(shard, 42, d);
      await store.receipts.addDeadline(shard, 42, { ...d, seq: 1 });
      assert.deepEqual(
        (await store.receipts.deadlinesIn(shard, 42)).map((x) => x.seq),
        [1, 3],
      );
      assert.deepEqual(await store.receipts.deadlinesIn(shard, 43), []);
      assert.equal(await store.receipts.sweepCursor(shard), null);
      assert.equal(await store.receipts.claimSweep(shard, null, 42), true);
      assert.equal(await store.receipts.claimSweep(shard, null, 43), false, 'a second first claim loses');
      assert.equal(await store.receipts.claimSweep(shard, 42, 43), true);
      assert.equal(await store.receipts.claimSweep(shard, 42, 43), false, 'a stale expectation loses');
      assert.equal(await store.receipts.sweepCursor(shard), 43);
    });

    test('user settings default to visible, change per field and an older change never wins', async () => {
      const user = id('user');
      assert.deepEqual(await store.settings.get(user), { readReceipts: true, presenceVisible: true });
      await store.settings.put(user, { readReceipts: false }, 2_000);
      await store.settings.put(user, { readReceipts: true, presenceVisible: false }, 1_000);
      assert.deepEqual(await store.settings.get(user), { readReceipts: false, presenceVisible: false });
      const many = await store.settings.getMany([user, 'nobody-' + user]);
      assert.deepEqual(many.get(user), { readReceipts: false, presenceVisible: false });
      assert.deepEqual(many.get('nobody-' + user), { readReceipts: true, presenceVisible: true });
    });

    test('a device list registers once, and a removed device stays removed', async () => {
      const user = id('user');
      await store.devices.register(user, 'phone', 1_000);
      await store.devices.register(user, 'laptop', 2_000);
      await store.devices.register(user, 'phone', 3_000);
      await store.devices.remove(user, 'laptop', 4_000);
      await store.devices.remove(user, 'laptop', 5_000);
      await store.devices.register(user, 'laptop', 6_000);
      assert.deepEqual(await store.devices.list(user), [
        { deviceId: 'phone', registeredAtMs: 1_000, removedAtMs: null },
        { deviceId: 'laptop', registeredAtMs: 2_000, removedAtMs: 4_000 },
      ]);
      assert.deepEqual(await store.devices.list(id('user')), []);
    });
  });
}
