/**
 * The store contract suite: the same assertions against the in-process store and Cassandra.
 * Each test works in its own streams (random ids), so one keyspace serves the whole run.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  appendFenced,
  appendFencedBatch,
  FencedHeads,
  HEAD_HINT_EVERY,
  LOG_BUCKET_SIZE,
  type ChatStore,
  type LogEntry,
} from '../index.js';

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

    test('appendFenced assigns 1, 2, 3... and a retried key returns the original entry', async () => {
      const chat = id('chat');
      const heads = new FencedHeads();
      const epoch = await store.writerEpochs.claim(id('log'));
      const first = await appendFenced(store.chatLog, heads, draft(chat, 'm1'), epoch);
      const second = await appendFenced(store.chatLog, heads, draft(chat, 'm2'), epoch);
      const retried = await appendFenced(
        store.chatLog,
        heads,
        { ...draft(chat, 'm1'), payload: Buffer.from('changed') },
        epoch,
      );
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

    test('appendFencedBatch: one batch appends in order after what is there, adopts stored and repeated keys, and crosses a bucket', async () => {
      const chat = id('chat');
      const name = id('log');
      const epoch = await store.writerEpochs.claim(name);
      const heads = new FencedHeads();
      await appendFenced(store.chatLog, heads, draft(chat, 'k1'), epoch);
      // A fresh FencedHeads: the batch recovers the head itself. k1 is stored already; k3 appears twice.
      const fresh = new FencedHeads();
      const outcomes = await appendFencedBatch(
        store.chatLog,
        fresh,
        ['k2', 'k1', 'k3', 'k3', 'k4'].map((key) => draft(chat, key)),
        epoch,
      );
      assert.deepEqual(
        outcomes.map((o) => [o.entry.idempotencyKey, o.entry.seq, o.created]),
        [
          ['k2', 2, true],
          ['k1', 1, false],
          ['k3', 3, true],
          ['k3', 3, false],
          ['k4', 4, true],
        ],
      );
      assert.deepEqual([...(await store.chatLog.findKeys(chat, ['k1', 'k2', 'k3', 'k4', 'nope']))].sort(), [
        ['k1', 1],
        ['k2', 2],
        ['k3', 3],
        ['k4', 4],
      ]);
      // A batch that crosses a bucket boundary and head hints, with payloads that embed their sequence number.
      const many = Array.from({ length: LOG_BUCKET_SIZE + HEAD_HINT_EVERY }, (_, i) => ({
        ...draft(chat, `m${i}`),
        payload: (seq: number) => Buffer.from(`seq:${seq}`),
      }));
      const appended = await appendFencedBatch(store.chatLog, fresh, many, epoch);
      assert.deepEqual(
        appended.map((o) => o.entry.seq),
        many.map((_, i) => 5 + i),
      );
      const all = [];
      for (let after = 0; ;) {
        const page = await store.chatLog.readAfter(chat, after, 500);
        if (page.length === 0) break;
        all.push(...page);
        after = page[page.length - 1]!.seq;
      }
      assert.deepEqual(
        all.map((e) => e.seq),
        Array.from({ length: 4 + many.length }, (_, i) => i + 1),
        'gap-free',
      );
      assert.equal(all.at(-1)!.payload.toString(), `seq:${4 + many.length}`);
      // A later owner (new epoch, no cached heads) continues after the batch, past the raised head hint.
      const next = await store.writerEpochs.claim(name);
      const after = await appendFenced(store.chatLog, new FencedHeads(), draft(chat, 'later'), next);
      assert.equal(after.entry.seq, 5 + many.length);
      assert.ok((await store.chatLog.getHead(chat)) >= 4 + many.length - HEAD_HINT_EVERY, 'head hint raised');
      await assert.rejects(appendFencedBatch(store.chatLog, fresh, [draft(chat, 'a'), draft(id('other'), 'b')], next), {
        code: 'CM_ERR_STORE_INVALID_ARGUMENT',
      });
    });

    test('writer epochs only grow, also when claimed concurrently', async () => {
      const name = id('log');
      const claims = await Promise.all(Array.from({ length: 6 }, () => store.writerEpochs.claim(name)));
      assert.deepEqual(
        [...claims].sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6],
      );
      assert.equal(await store.writerEpochs.claim(name), 7);
    });

    test('a new ownership (new epoch, no cached heads) continues the sequence without gaps or reuse, past a head hint', async () => {
      const chat = id('chat');
      const name = id('log');
      const before = new FencedHeads();
      const first = await store.writerEpochs.claim(name);
      const total = HEAD_HINT_EVERY + 3;
      for (let i = 1; i <= total; i++) await appendFenced(store.chatLog, before, draft(chat, `k${i}`), first);
      const second = await store.writerEpochs.claim(name);
      // The same FencedHeads object: a head learned under an older epoch is not trusted under the new one.
      const next = await appendFenced(store.chatLog, before, draft(chat, 'next'), second);
      assert.equal(next.entry.seq, total + 1);
    });

    test('a crash after the row but before its key index: the next owner finds the row, no duplicate', async () => {
      const chat = id('chat');
      const name = id('log');
      const epoch = await store.writerEpochs.claim(name);
      await appendFenced(store.chatLog, new FencedHeads(), draft(chat, 'a'), epoch);
      // The predecessor died right after writing row 2: no key index, no head hint.
      await store.chatLog.write({ ...draft(chat, 'b'), seq: 2 }, epoch);
      const next = await store.writerEpochs.claim(name);
      const heads = new FencedHeads();
      const retried = await appendFenced(store.chatLog, heads, draft(chat, 'b'), next);
      assert.equal(retried.created, false);
      assert.equal(retried.entry.seq, 2);
      const third = await appendFenced(store.chatLog, heads, draft(chat, 'c'), next);
      assert.equal(third.entry.seq, 3);
      assert.equal(await store.chatLog.findKey(chat, 'b'), 2, 'the key index was repaired');
    });

    test('two writers at once: the zombie (older epoch, stale head) never wins a sequence number, whatever the order', async () => {
      const chat = id('chat');
      const name = id('log');
      const zombieEpoch = await store.writerEpochs.claim(name);
      const zombie = new FencedHeads();
      await appendFenced(store.chatLog, zombie, draft(chat, 'x1'), zombieEpoch);
      const ownerEpoch = await store.writerEpochs.claim(name);
      const owner = new FencedHeads();
      await appendFenced(store.chatLog, owner, draft(chat, 'x2'), ownerEpoch); // recovers head 1, writes 2
      // The zombie resumes with its stale head (1): its write of 2 lands after the owner's and loses.
      await appendFenced(store.chatLog, zombie, draft(chat, 'z-late'), zombieEpoch);
      assert.equal((await store.chatLog.get(chat, 2))?.idempotencyKey, 'x2');
      // The zombie writes 3 before the owner does: the owner's later write of 3 still wins.
      await appendFenced(store.chatLog, zombie, draft(chat, 'z-early'), zombieEpoch);
      const z = await store.chatLog.get(chat, 3);
      assert.equal(z?.idempotencyKey === 'z-early' || z?.idempotencyKey === 'z-late', true);
      const owned = await appendFenced(store.chatLog, owner, draft(chat, 'x3'), ownerEpoch);
      assert.equal(owned.entry.seq, 3);
      assert.equal((await store.chatLog.get(chat, 3))?.idempotencyKey, 'x3');
      // The zombie's commands come back to the owner (the zombie could not commit): stored once, at new numbers.
      const again = await appendFenced(store.chatLog, owner, draft(chat, 'z-late'), ownerEpoch);
      assert.equal(again.created, true, 'the index entry of an overwritten row counts as absent');
      assert.deepEqual(
        (await store.chatLog.readAfter(chat, 0, 10)).map((e) => [e.seq, e.idempotencyKey]),
        [
          [1, 'x1'],
          [2, 'x2'],
          [3, 'x3'],
          [4, 'z-late'],
        ],
      );
    });

    test("a row a zombie wrote past the owner's head is adopted when its record comes back, never overwritten", async () => {
      const chat = id('chat');
      const name = id('log');
      const zombieEpoch = await store.writerEpochs.claim(name);
      const zombie = new FencedHeads();
      await appendFenced(store.chatLog, zombie, draft(chat, 'a'), zombieEpoch);
      const ownerEpoch = await store.writerEpochs.claim(name);
      const owner = new FencedHeads();
      await appendFenced(store.chatLog, owner, draft(chat, 'b'), ownerEpoch); // owner's head: 2
      await appendFenced(store.chatLog, zombie, draft(chat, 'c'), zombieEpoch); // zombie: head 1 -> writes 2, loses
      const zombieHeadAhead = new FencedHeads();
      zombieHeadAhead.set(chat, zombieEpoch, 2);
      await appendFenced(store.chatLog, zombieHeadAhead, draft(chat, 'd'), zombieEpoch); // zombie writes 3
      const adopted = await appendFenced(store.chatLog, owner, draft(chat, 'd'), ownerEpoch);
      assert.deepEqual([adopted.created, adopted.entry.seq], [false, 3]);
      const next = await appendFenced(store.chatLog, owner, draft(chat, 'e'), ownerEpoch);
      assert.equal(next.entry.seq, 4);
    });

    test('a payload built from the sequence number embeds the number it was appended at', async () => {
      const chat = id('chat');
      const heads = new FencedHeads();
      const epoch = await store.writerEpochs.claim(id('log'));
      await appendFenced(store.chatLog, heads, draft(chat, 'p1'), epoch);
      const built = await appendFenced(
        store.chatLog,
        heads,
        { ...draft(chat, 'p2'), payload: async (seq: number) => Buffer.from(`event#${seq}`) },
        epoch,
      );
      assert.equal(built.entry.seq, 2);
      assert.equal((await store.chatLog.get(chat, 2))?.payload.toString(), 'event#2');
    });

    test('reads cross bucket boundaries in both directions', async () => {
      const user = id('user');
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

    test('marking a chat broadcast is sticky: the first since seq wins and every later mark returns it', async () => {
      const chat = id('chat');
      assert.equal(await store.broadcastChats.sinceOf(chat), null);
      assert.equal(await store.broadcastChats.mark(chat, 40), 40);
      assert.equal(await store.broadcastChats.mark(chat, 90), 40, 'a second mark returns the first since seq');
      assert.equal(await store.broadcastChats.mark(chat, 10), 40, 'a smaller since seq does not win either');
      assert.equal(await store.broadcastChats.sinceOf(chat), 40);
      // Concurrent first marks of another chat: exactly one since seq wins and every caller gets it.
      const raced = id('chat');
      const marks = await Promise.all([7, 8, 9, 10].map((since) => store.broadcastChats.mark(raced, since)));
      assert.equal(new Set(marks).size, 1, `one winner (got ${marks.join(', ')})`);
      assert.ok([7, 8, 9, 10].includes(marks[0]!));
      assert.equal(await store.broadcastChats.sinceOf(raced), marks[0]);
    });

    test('sinceOf is null for a chat never marked, also next to marked ones', async () => {
      const marked = id('chat');
      await store.broadcastChats.mark(marked, 1);
      assert.equal(await store.broadcastChats.sinceOf(id('chat')), null);
      assert.equal(await store.broadcastChats.sinceOf(`${marked}-other`), null);
      assert.equal(await store.broadcastChats.sinceOf(marked), 1);
    });

    test('sinceOfMany answers for more than 100 chats at once, only the broadcast ones', async () => {
      const prefix = id('many');
      const chats = Array.from({ length: 257 }, (_, i) => `${prefix}-${i}`);
      // Broadcast chats in every chunk of 100, at its edges included; the rest were never marked.
      const isBroadcast = (i: number): boolean => i % 7 === 0 || [99, 100, 199, 200, 256].includes(i);
      await Promise.all(chats.map((chat, i) => (isBroadcast(i) ? store.broadcastChats.mark(chat, 1000 + i) : null)));
      const since = await store.broadcastChats.sinceOfMany([...chats, chats[0]!, chats[1]!]);
      assert.equal(since.size, chats.filter((_, i) => isBroadcast(i)).length);
      chats.forEach((chat, i) => assert.equal(since.get(chat), isBroadcast(i) ? 1000 + i : undefined, chat));
      assert.equal((await store.broadcastChats.sinceOfMany([])).size, 0);
      assert.equal((await store.broadcastChats.sinceOfMany([id('chat'), id('chat')])).size, 0);
    });

    test("a device's position in a broadcast chat never goes back", async () => {
      const user = id('user');
      const chat = id('chat');
      await store.chatCursors.advance(user, 'phone', chat, 10);
      await store.chatCursors.advance(user, 'phone', chat, 4);
      assert.deepEqual(await store.chatCursors.list(user, 'phone'), new Map([[chat, 10]]));
      await store.chatCursors.advance(user, 'phone', chat, 11);
      await store.chatCursors.advance(user, 'phone', chat, 10);
      assert.deepEqual(await store.chatCursors.list(user, 'phone'), new Map([[chat, 11]]));
    });

    test('chat positions are listed per chat for one device, isolated from other devices and users', async () => {
      const [alice, bob] = [id('alice'), id('bob')];
      const [c1, c2, c3] = [id('chat'), id('chat'), id('chat')];
      await store.chatCursors.advance(alice, 'phone', c1, 3);
      await store.chatCursors.advance(alice, 'phone', c2, 7);
      await store.chatCursors.advance(alice, 'laptop', c1, 5);
      await store.chatCursors.advance(alice, 'laptop', c3, 1);
      await store.chatCursors.advance(bob, 'phone', c1, 9);
      const sorted = (m: Map<string, number>): Array<[string, number]> =>
        [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
      assert.deepEqual(
        sorted(await store.chatCursors.list(alice, 'phone')),
        sorted(
          new Map([
            [c1, 3],
            [c2, 7],
          ]),
        ),
      );
      assert.deepEqual(
        sorted(await store.chatCursors.list(alice, 'laptop')),
        sorted(
          new Map([
            [c1, 5],
            [c3, 1],
          ]),
        ),
      );
      assert.deepEqual(sorted(await store.chatCursors.list(bob, 'phone')), [[c1, 9]]);
      assert.equal((await store.chatCursors.list(bob, 'laptop')).size, 0);
      assert.equal((await store.chatCursors.list(id('user'), 'phone')).size, 0);
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
    test('push channels: one per device, the newest registration wins, a removal spares a later token', async () => {
      const user = id('user');
      const fcmOld = { provider: 'fcm', token: 'old-token' } as const;
      const fcmNew = { provider: 'fcm', token: 'new-token' } as const;
      const apns = {
        provider: 'apns',
        token: 'ab'.repeat(32),
        topic: 'com.example.chat',
        environment: 'sandbox',
      } as const;
      const web = {
        provider: 'web_push',
        endpoint: 'https://push.example/abc',
        p256dh: 'BPk',
        auth: 'c2VjcmV0',
      } as const;
      await store.pushChannels.put(user, 'phone', fcmOld, 1_000);
      await store.pushChannels.put(user, 'phone', fcmNew, 2_000);
      await store.pushChannels.put(user, 'phone', fcmOld, 1_500);
      await store.pushChannels.put(user, 'ipad', apns, 1_000);
      await store.pushChannels.put(user, 'browser', web, 1_000);
      assert.deepEqual(await store.pushChannels.list(user), [
        { deviceId: 'browser', channel: web, registeredAtMs: 1_000 },
        { deviceId: 'ipad', channel: apns, registeredAtMs: 1_000 },
        { deviceId: 'phone', channel: fcmNew, registeredAtMs: 2_000 },
      ]);
      // A dead-token removal of the old registration lands after the refresh: the refreshed token stays.
      await store.pushChannels.remove(user, 'phone', 1_000);
      assert.equal((await store.pushChannels.list(user)).length, 3);
      // Removing exactly the stored registration deletes it, and a replay of it does not bring it back.
      await store.pushChannels.remove(user, 'ipad', 1_000);
      await store.pushChannels.put(user, 'ipad', apns, 1_000);
      assert.deepEqual(
        (await store.pushChannels.list(user)).map((r) => r.deviceId),
        ['browser', 'phone'],
      );
      // A registration after the removal is a new channel.
      await store.pushChannels.put(user, 'ipad', apns, 3_000);
      assert.deepEqual(
        (await store.pushChannels.list(user)).map((r) => [r.deviceId, r.registeredAtMs]),
        [
          ['browser', 1_000],
          ['ipad', 3_000],
          ['phone', 2_000],
        ],
      );
      assert.deepEqual(await store.pushChannels.list(id('user')), []);
    });
    test("the push inbox lists a user's wake-ups newest first, once each, up to a limit", async () => {
      const user = id('user');
      const wake = (atMs: number, requestId: string, deviceId = 'phone') =>
        ({ deviceId, chatId: 'c-1', badge: 2, atMs, requestId }) as const;
      await store.pushInbox.record(user, wake(1_000, 'r1'));
      await store.pushInbox.record(user, wake(3_000, 'r3'));
      await store.pushInbox.record(user, wake(2_000, 'r2'));
      await store.pushInbox.record(user, wake(2_000, 'r2'));
      await store.pushInbox.record(user, { ...wake(4_000, 'r4', 'tablet'), chatId: null });
      assert.deepEqual(
        (await store.pushInbox.list(user, 10)).map((e) => [e.requestId, e.deviceId, e.chatId]),
        [
          ['r4', 'tablet', null],
          ['r3', 'phone', 'c-1'],
          ['r2', 'phone', 'c-1'],
          ['r1', 'phone', 'c-1'],
        ],
      );
      assert.deepEqual(await store.pushInbox.list(user, 1), [{ ...wake(4_000, 'r4', 'tablet'), chatId: null }]);
      assert.deepEqual(await store.pushInbox.list(id('user'), 10), []);
    });

    test('attachments: create is idempotent, get returns the record, remove forgets it', async () => {
      const attachmentId = id('att');
      const record = {
        attachmentId,
        ownerUserId: id('user'),
        objectKey: `att/${attachmentId}`,
        sizeBytes: 5_000_000_000,
        contentType: 'image/png',
        sha256: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=',
        fileName: 'cat.png',
        multipartUploadId: null,
        createdAtMs: 1_700_000_000_000,
      };
      assert.equal(await store.attachments.get(attachmentId), null);
      await store.attachments.create(record);
      await store.attachments.create(record);
      assert.deepEqual(await store.attachments.get(attachmentId), record);
      await store.attachments.remove(record);
      assert.equal(await store.attachments.get(attachmentId), null);
    });

    test('attachments: createdBetween finds uploads of a time window across day buckets, oldest first', async () => {
      // A window of its own in the past, so rows of other tests never fall into it.
      const base = Date.UTC(2001, 0, 1, 23, 0, 0) + Math.floor(Math.random() * 1000) * 86_400_000 * 3;
      const make = (offsetMs: number) => {
        const attachmentId = id('att');
        return {
          attachmentId,
          ownerUserId: 'u',
          objectKey: `att/${attachmentId}`,
          sizeBytes: 1,
          contentType: 'text/plain',
          sha256: 'x',
          fileName: null,
          multipartUploadId: 'mp-1',
          createdAtMs: base + offsetMs,
        };
      };
      const early = make(0);
      const nextDay = make(2 * 3_600_000);
      const outside = make(5 * 3_600_000);
      for (const r of [outside, nextDay, early]) await store.attachments.create(r);
      const found = await store.attachments.createdBetween(base, base + 3 * 3_600_000, 10);
      assert.deepEqual(
        found.map((r) => r.attachmentId),
        [early.attachmentId, nextDay.attachmentId],
      );
      assert.equal(found[0]!.multipartUploadId, 'mp-1');
      assert.equal((await store.attachments.createdBetween(base, base + 3 * 3_600_000, 1)).length, 1);
      await store.attachments.remove(early);
      assert.deepEqual(
        (await store.attachments.createdBetween(base, base + 3 * 3_600_000, 10)).map((r) => r.attachmentId),
        [nextDay.attachmentId],
      );
    });

    test('attachments: refs are kept per chat and ref key, idempotently', async () => {
      const attachmentId = id('att');
      assert.deepEqual(await store.attachments.refs(attachmentId), []);
      const ref = { attachmentId, chatId: 'c1', refKey: 'send:u:m1', byUserId: 'u', createdAtMs: 1_700_000_000_000 };
      await store.attachments.addRef(ref);
      await store.attachments.addRef(ref);
      await store.attachments.addRef({ ...ref, chatId: 'c2', byUserId: 'v' });
      const refs = (await store.attachments.refs(attachmentId)).sort((a, b) => (a.chatId < b.chatId ? -1 : 1));
      assert.deepEqual(refs, [ref, { ...ref, chatId: 'c2', byUserId: 'v' }]);
    });

    const deviceKeys = (deviceId: string, identity: number, atMs = 1_700_000_000_000) => ({
      deviceId,
      identityKey: Buffer.alloc(33, identity),
      registrationId: 4242,
      signedPreKey: { keyId: 7, publicKey: Buffer.alloc(33, 2), signature: Buffer.alloc(64, 3) },
      kyberLastResort: { keyId: 9, publicKey: Buffer.alloc(1569, 4), signature: Buffer.alloc(64, 5) },
      updatedAtMs: atMs,
    });
    const preKeys = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ keyId: from + i, publicKey: Buffer.alloc(33, (from + i) % 256) }));

    test('key directory: device keys round-trip, list per user, and report the previous identity', async () => {
      const user = id('user');
      assert.equal(await store.keys.getDeviceKeys(user, 'd1'), null);
      assert.deepEqual(await store.keys.putDeviceKeys(user, deviceKeys('d1', 1)), { previousIdentityKey: null });
      await store.keys.putDeviceKeys(user, deviceKeys('d2', 6));
      assert.deepEqual(await store.keys.getDeviceKeys(user, 'd1'), deviceKeys('d1', 1));
      assert.deepEqual(
        (await store.keys.listDeviceKeys(user)).map((d) => d.deviceId),
        ['d1', 'd2'],
      );
      const rotated = await store.keys.putDeviceKeys(user, deviceKeys('d1', 1, 1_700_000_001_000));
      assert.deepEqual(rotated.previousIdentityKey, Buffer.alloc(33, 1));
      assert.deepEqual((await store.keys.listDeviceKeys(id('user'))).length, 0);
    });

    test('key directory: one-time prekeys are counted, claimed once each, then run out', async () => {
      const user = id('user');
      await store.keys.putDeviceKeys(user, deviceKeys('d1', 1));
      await store.keys.addOneTimePreKeys(user, 'd1', preKeys(100, 3));
      await store.keys.addKyberPreKeys(
        user,
        'd1',
        [1, 2].map((keyId) => ({ keyId, publicKey: Buffer.alloc(1569, keyId), signature: Buffer.alloc(64, keyId) })),
      );
      assert.deepEqual(await store.keys.countPreKeys(user, 'd1'), { oneTime: 3, kyber: 2 });
      assert.deepEqual(await store.keys.countPreKeys(user, 'd2'), { oneTime: 0, kyber: 0 });
      const claimed = [];
      for (let i = 0; i < 3; i++) claimed.push((await store.keys.claimOneTimePreKey(user, 'd1'))?.keyId);
      assert.deepEqual([...claimed].sort(), [100, 101, 102]);
      assert.equal(await store.keys.claimOneTimePreKey(user, 'd1'), null);
      const kyber = await store.keys.claimKyberPreKey(user, 'd1');
      assert.ok(kyber !== null && [1, 2].includes(kyber.keyId));
      assert.deepEqual(kyber.signature, Buffer.alloc(64, kyber.keyId));
      assert.deepEqual(await store.keys.countPreKeys(user, 'd1'), { oneTime: 0, kyber: 1 });
    });

    test('key directory: concurrent claims never hand out the same one-time prekey', async () => {
      const user = id('user');
      await store.keys.putDeviceKeys(user, deviceKeys('d1', 1));
      await store.keys.addOneTimePreKeys(user, 'd1', preKeys(1, 10));
      const results = await Promise.all(Array.from({ length: 16 }, () => store.keys.claimOneTimePreKey(user, 'd1')));
      const ids = results.filter((r) => r !== null).map((r) => r.keyId);
      assert.equal(ids.length, 10, 'every key is handed out, to exactly one caller');
      assert.equal(new Set(ids).size, 10, 'no key twice');
      assert.equal(results.filter((r) => r === null).length, 6);
    });

    test('key directory: a new identity key drops the one-time prekeys of the old one; a rotation with the same identity keeps them', async () => {
      const user = id('user');
      await store.keys.putDeviceKeys(user, deviceKeys('d1', 1));
      await store.keys.addOneTimePreKeys(user, 'd1', preKeys(1, 2));
      await store.keys.putDeviceKeys(user, deviceKeys('d1', 1, 1_700_000_001_000));
      assert.equal((await store.keys.countPreKeys(user, 'd1')).oneTime, 2);
      await store.keys.putDeviceKeys(user, deviceKeys('d1', 8, 1_700_000_002_000));
      assert.deepEqual(await store.keys.countPreKeys(user, 'd1'), { oneTime: 0, kyber: 0 });
      await store.keys.addOneTimePreKeys(user, 'd1', preKeys(50, 1));
      assert.equal((await store.keys.claimOneTimePreKey(user, 'd1'))?.keyId, 50);
    });
  });
}
