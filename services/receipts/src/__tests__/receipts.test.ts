import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '@chatmesh/logging';
import { createTypedProducer } from '@chatmesh/runtime';
import type { MessageStatusUpdate } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import { createReceiptProcessor } from '../receipt-processor.js';
import { startReceiptsHarness, type ReceiptsHarness } from './helpers/receipts-harness.js';

/** `STATUS from-upTo by` (by = `*` for the aggregate), the form assertions compare. */
const show = (updates: readonly MessageStatusUpdate[]): string[] =>
  updates.map((u) => `${u.status} ${u.fromSeq}-${u.upToSeq} ${u.byUserId ?? '*'}`);

let h: ReceiptsHarness;
before(async () => {
  h = await startReceiptsHarness();
});
after(async () => h?.close());

/** Waits until the receipts service handled `n` more reports than `since`. */
async function handled(since: number, n: number): Promise<void> {
  await waitFor(() => total() >= since + n, { description: `${n} reports handled` });
}
function total(): number {
  const c = h.counters();
  return ['applied', 'unchanged', 'ignored', 'rejected'].reduce((sum, key) => sum + (c[key] as number), 0);
}

describe('receipts (embedded: memory bus and store, with ingest and fan-out)', () => {
  test('1:1: the offline sender finds DELIVERED then READ in their stored inbox; the reader gets a read pointer', async () => {
    const chat = await h.createDirect('alice1', 'bob1');
    const first = await h.send('alice1', chat);
    const second = await h.send('alice1', chat);
    assert.deepEqual([first, second], [2, 3]);
    await h.report('bob1', chat, 'DELIVERED', 3);
    await waitFor(async () => (await h.statuses('alice1', chat)).length === 1, { description: 'DELIVERED stored' });
    await h.report('bob1', chat, 'READ', 3);
    await waitFor(async () => (await h.statuses('alice1', chat)).length === 2, { description: 'READ stored' });
    // Nobody of alice's is online: these come from the stored inbox (what a device replays on connect).
    assert.deepEqual(show(await h.statuses('alice1', chat)), ['DELIVERED 1-3 *', 'READ 1-3 *']);
    assert.deepEqual(await h.readPointers('bob1', chat), [{ upToSeq: 3, byDeviceId: 'bob1-phone' }]);
    assert.deepEqual(await h.statuses('bob1', chat), [], 'the reader gets no status of their own reads');
    assert.deepEqual(await h.store.receipts.pointers(chat, 'bob1'), { deliveredSeq: 3, readSeq: 3 });
  });

  test('a READ past the delivered pointer tells DELIVERED first, then READ; a message of the reader is not theirs to tick', async () => {
    const chat = await h.createDirect('alice2', 'bob2');
    await h.send('alice2', chat); // 2
    await h.send('bob2', chat); // 3
    await h.send('alice2', chat); // 4
    await h.report('bob2', chat, 'READ', 4);
    await waitFor(async () => (await h.statuses('alice2', chat)).length === 2, { description: 'two updates' });
    assert.deepEqual(show(await h.statuses('alice2', chat)), ['DELIVERED 1-4 *', 'READ 1-4 *']);
    await h.report('alice2', chat, 'READ', 3);
    await waitFor(async () => (await h.statuses('bob2', chat)).length === 2, { description: "bob's ticks" });
    assert.deepEqual(show(await h.statuses('bob2', chat)), ['DELIVERED 1-3 *', 'READ 1-3 *']);
  });

  test('group: per-member updates, and the aggregate only when every other member got there', async () => {
    const chat = await h.createGroup('ann', ['ben', 'cat']);
    await h.send('ann', chat); // 2
    await h.send('ann', chat); // 3
    const statuses = async (): Promise<string[]> => show(await h.statuses('ann', chat));
    await h.report('ben', chat, 'DELIVERED', 3);
    await waitFor(async () => (await statuses()).length === 1, { description: "ben's DELIVERED" });
    assert.deepEqual(await statuses(), ['DELIVERED 1-3 ben']);
    await h.report('cat', chat, 'DELIVERED', 2);
    await waitFor(async () => (await statuses()).length === 3, { description: "cat's DELIVERED and the aggregate" });
    assert.deepEqual((await statuses()).slice(1), ['DELIVERED 1-2 cat', 'DELIVERED 1-2 *']);
    await h.report('cat', chat, 'READ', 3);
    await waitFor(async () => (await statuses()).length === 6, { description: "cat's READ" });
    // cat's READ moves her delivered pointer too; nobody else read yet, so no READ aggregate.
    assert.deepEqual((await statuses()).slice(3), ['DELIVERED 3-3 cat', 'DELIVERED 3-3 *', 'READ 1-3 cat']);
    await h.report('ben', chat, 'READ', 3);
    await waitFor(async () => (await statuses()).length === 8, { description: "ben's READ and the aggregate" });
    assert.deepEqual((await statuses()).slice(6), ['READ 1-3 ben', 'READ 1-3 *']);
    assert.deepEqual(await h.statuses('ben', chat), [], 'members get no ticks of messages that are not theirs');
  });

  test('group: a member who joined later does not hold back the aggregate of older messages', async () => {
    const chat = await h.createGroup('amy', ['bea']);
    await h.send('amy', chat); // 2
    await h.send('amy', chat); // 3
    // dan joins at 4: he is not a recipient of messages 2 and 3, so he does not hold their aggregate back.
    assert.equal(await h.addMembers('amy', chat, ['dan']), 4);
    await h.report('bea', chat, 'DELIVERED', 3);
    await waitFor(async () => (await h.statuses('amy', chat)).some((u) => u.byUserId === null), {
      description: 'the aggregate',
    });
    assert.deepEqual(show(await h.statuses('amy', chat)), ['DELIVERED 1-3 bea', 'DELIVERED 1-3 *']);
  });

  test('a report from a non-member, for an unknown chat, or past the head is refused with a code and changes nothing', async () => {
    const chat = await h.createDirect('al', 'bo');
    await h.send('al', chat); // 2
    const before = total();
    const outsider = await h.report('eve', chat, 'READ', 2);
    const unknown = await h.report('al', 'no-such-chat', 'DELIVERED', 1);
    const beyond = await h.report('bo', chat, 'READ', 3);
    const ignored = await h.report('bo', chat, 'DELIVERED', 0);
    await handled(before, 4);
    await waitFor(() => h.localResults.filter((r) => [outsider, unknown, beyond].includes(r.requestId)).length === 3, {
      description: 'three rejections',
    });
    const byRequest = new Map(h.localResults.map((r) => [r.requestId, r]));
    for (const [requestId, code] of [
      [outsider, 'CM_ERR_RECEIPTS_NOT_A_MEMBER'],
      [unknown, 'CM_ERR_RECEIPTS_NOT_A_MEMBER'],
      [beyond, 'CM_ERR_RECEIPTS_BEYOND_HEAD'],
    ] as const) {
      const result = byRequest.get(requestId)!;
      assert.equal(result.accepted, false);
      assert.equal(result.seq, null);
      assert.equal(result.clientMessageId, null);
      assert.deepEqual({ ...result.reason, message: '' }, { code, message: '', retriable: false });
    }
    assert.equal(byRequest.has(ignored), false, 'upToSeq 0 is not an error, just nothing');
    assert.deepEqual(await h.store.receipts.pointersOfChat(chat), new Map(), 'no pointer moved');
    assert.deepEqual(await h.store.receipts.pointersOfChat('no-such-chat'), new Map());
    assert.deepEqual(await h.statuses('al', chat), []);
    assert.deepEqual(await h.readPointers('bo', chat), []);
    assert.deepEqual(await h.inbox('eve'), []);
  });

  test('read receipts off: the reader still clears their devices, but READ reaches nobody, nor a sender who turned it off', async () => {
    const chat = await h.createDirect('ari', 'bex');
    await h.store.settings.put('bex', { readReceipts: false }, Date.now());
    await h.send('ari', chat); // 2
    await h.report('bex', chat, 'READ', 2);
    await waitFor(async () => (await h.readPointers('bex', chat)).length === 1, { description: "bex's read pointer" });
    assert.deepEqual(show(await h.statuses('ari', chat)), ['DELIVERED 1-2 *'], 'DELIVERED still flows');

    const other = await h.createDirect('cal', 'dee');
    await h.store.settings.put('cal', { readReceipts: false }, Date.now());
    await h.send('cal', other); // 2
    await h.send('dee', other); // 3
    await h.report('dee', other, 'READ', 2);
    await h.report('cal', other, 'READ', 3);
    await waitFor(async () => (await h.readPointers('cal', other)).length === 1, { description: "cal's read pointer" });
    await waitFor(async () => (await h.statuses('dee', other)).length === 1, { description: "dee's DELIVERED" });
    await waitFor(async () => (await h.statuses('cal', other)).length === 1, { description: "cal's DELIVERED" });
    assert.deepEqual(show(await h.statuses('cal', other)), ['DELIVERED 1-2 *'], 'cal sees no READ');
    assert.deepEqual(show(await h.statuses('dee', other)), ['DELIVERED 1-3 *'], 'and sends none');
  });

  test('a replayed report adds nothing', async () => {
    const chat = await h.createGroup('ana', ['bill', 'cid']);
    await h.send('ana', chat); // 2
    const report = h.reportValue('bill', chat, 'READ', 2);
    const before = total();
    await h.reportMany([report, report]);
    await handled(before, 2);
    await waitFor(async () => (await h.statuses('ana', chat)).length === 2, { description: "bill's updates" });
    assert.equal((h.counters()['unchanged'] as number) >= 1, true);
    assert.deepEqual(show(await h.statuses('ana', chat)), ['DELIVERED 1-2 bill', 'READ 1-2 bill']);
    assert.equal((await h.readPointers('bill', chat)).length, 1);
  });

  test('a crash after producing and before the pointer moved: the redelivered report stores nothing twice', async () => {
    const chat = await h.createDirect('ava', 'bud');
    await h.send('ava', chat); // 2
    let failRaise = true;
    const store: ChatStore = {
      ...h.store,
      receipts: {
        ...h.store.receipts,
        pointersOfChat: (c) => h.store.receipts.pointersOfChat(c),
        raise: async (...args) => {
          if (failRaise) {
            failRaise = false;
            throw new Error('crash before the pointer write');
          }
          return h.store.receipts.raise(...args);
        },
      },
    };
    const processor = createReceiptProcessor(
      {
        store,
        codec: h.codec,
        bus: h.bus,
        typed: createTypedProducer(h.bus, h.codec),
        logger: createLogger({ service: 'test', level: 'silent' }),
      },
      { scanLimit: 100, perMemberMaxGroup: 256 },
    );
    const report = h.reportValue('bud', chat, 'READ', 2);
    const sequencerReplays = (): number => h.group.health()['fan-out']?.details?.['replays'] as number;
    const replaysBefore = sequencerReplays();
    await assert.rejects(processor.process(report), /crash/);
    const outcome = await processor.process(report);
    assert.equal(outcome.outcome, 'applied');
    assert.equal(outcome.aggregateUpdates, 2, 'the same updates are produced again');
    assert.equal((await processor.process(report)).outcome, 'unchanged');
    // Both copies reach the sequencer (2 status updates and a read pointer each): wait until it saw the second.
    await waitFor(async () => (await h.statuses('ava', chat)).length === 2 && sequencerReplays() >= replaysBefore + 3, {
      description: 'the replayed copies reached the sequencer',
    });
    assert.deepEqual(show(await h.statuses('ava', chat)), ['DELIVERED 1-2 *', 'READ 1-2 *']);
    assert.equal((await h.readPointers('bud', chat)).length, 1);
  });

  test("a big group's pointers are kept between reports of one ownership and read again under another", async () => {
    const others = Array.from({ length: 69 }, (_, i) => `big-m${i}`);
    const chat = await h.createGroup('big-owner', others);
    await h.send('big-owner', chat); // 2
    let reads = 0;
    const store: ChatStore = {
      ...h.store,
      receipts: {
        ...h.store.receipts,
        pointersOfChat: (c) => {
          reads++;
          return h.store.receipts.pointersOfChat(c);
        },
      },
    };
    const processor = createReceiptProcessor(
      {
        store,
        codec: h.codec,
        bus: h.bus,
        typed: createTypedProducer(h.bus, h.codec),
        logger: createLogger({ service: 'test', level: 'silent' }),
      },
      { scanLimit: 100, perMemberMaxGroup: 16 },
    );
    const first = { assignmentId: 'owner-1' };
    const [x, y] = others.slice(-2) as [string, string];
    // Everybody but the last two members: the aggregate must not move yet.
    for (const member of others.slice(0, -2)) {
      const outcome = await processor.process(h.reportValue(member, chat, 'DELIVERED', 2), first);
      assert.equal(outcome.aggregateUpdates, 0, `${member} alone moves no aggregate`);
    }
    assert.equal(reads, 1, 'read once, then kept');
    // Another owner (a rebalance away and back) raised x meanwhile: the kept pointers miss it.
    await h.store.receipts.raise(chat, x, { deliveredSeq: 2 });
    // y is the last: under a new ownership the pointers are read again, x counts, and everyone got message 2.
    const last = await processor.process(h.reportValue(y, chat, 'DELIVERED', 2), { assignmentId: 'owner-2' });
    assert.equal(reads, 2, 'a new ownership reads the pointers again');
    assert.equal(last.aggregateUpdates, 1, 'the aggregate DELIVERED of message 2 for its sender');
    const direct = await processor.process(h.reportValue(others[0]!, chat, 'READ', 2));
    assert.equal(direct.outcome, 'applied');
    assert.equal(reads, 3, 'without an ownership every report reads');
  });

  test('metrics and health say what was handled', async () => {
    const text = await h.registry.metrics();
    assert.match(text, /chatmesh_receipts_reports_total\{kind="READ",outcome="applied"\} [1-9]/);
    assert.match(text, /chatmesh_receipts_rejections_total\{code="CM_ERR_RECEIPTS_BEYOND_HEAD"\} 1/);
    assert.match(text, /chatmesh_receipts_status_updates_total\{status="DELIVERED",scope="aggregate"\} [1-9]/);
    const details = h.counters();
    assert.equal(typeof details['lastSweepAtMs'], 'number', 'the sweeper ran');
    assert.ok((details['deadlinesRecorded'] as number) > 0);
  });
});
