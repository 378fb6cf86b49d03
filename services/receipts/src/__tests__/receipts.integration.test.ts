/**
 * ingest + fan-out + receipts on the real servers: Kafka (a private broker: the services join fixed
 * consumer groups), the schema registry, Cassandra (a fresh keyspace) and Redis. The test plays the
 * gateway (ChatCommands and ReceiptReports in, its delivery topic out) and reads the stored inboxes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MessageStatusUpdate } from '@chatmesh/schemas';
import { randomKeyspaceName, startStackServers, waitFor, type StackServers } from '@chatmesh/testing';
import { startReceiptsHarness, type ReceiptsHarness } from './helpers/receipts-harness.js';

const show = (updates: readonly MessageStatusUpdate[]): string[] =>
  updates.map((u) => `${u.status} ${u.fromSeq}-${u.upToSeq} ${u.byUserId ?? '*'}`);
const WAIT = { timeoutMs: 60_000, intervalMs: 200 };

let servers: StackServers;
let h: ReceiptsHarness;

before(async () => {
  servers = await startStackServers();
  h = await startReceiptsHarness({
    stack: servers.endpoints(randomKeyspaceName('receipts')),
    env: {
      CHATMESH_RECEIPTS_FAIL_AFTER_MS: '6000',
      CHATMESH_RECEIPTS_DEADLINE_BUCKET_MS: '1000',
      CHATMESH_RECEIPTS_SWEEP_INTERVAL_MS: '500',
    },
  });
});
after(async () => {
  await h?.close();
  await servers?.stop();
});

test('stack: 1:1 SENT → DELIVERED → READ reach the offline sender through the stored inbox, in order', async () => {
  const chat = await h.createDirect('alice', 'bob');
  const seqs = [await h.send('alice', chat), await h.send('alice', chat)];
  assert.deepEqual(seqs, [2, 3], 'SENT: acknowledged with their seqs');
  await h.report('bob', chat, 'DELIVERED', 3);
  await waitFor(async () => (await h.statuses('alice', chat)).length === 1, { ...WAIT, description: 'DELIVERED' });
  await h.report('bob', chat, 'READ', 3);
  await waitFor(async () => (await h.statuses('alice', chat)).length === 2, { ...WAIT, description: 'READ' });
  assert.deepEqual(show(await h.statuses('alice', chat)), ['DELIVERED 1-3 *', 'READ 1-3 *']);
  assert.deepEqual(await h.readPointers('bob', chat), [{ upToSeq: 3, byDeviceId: 'bob-phone' }]);
  assert.deepEqual(await h.store.receipts.pointers(chat, 'bob'), { deliveredSeq: 3, readSeq: 3 });
});

test('stack: group per-member and aggregate DELIVERED then READ', async () => {
  const chat = await h.createGroup('ann', ['ben', 'cat']);
  await h.send('ann', chat); // 2
  const statuses = async (): Promise<string[]> => show(await h.statuses('ann', chat));
  await h.report('ben', chat, 'DELIVERED', 2);
  await h.report('cat', chat, 'DELIVERED', 2);
  await waitFor(async () => (await statuses()).length === 3, {
    ...WAIT,
    description: 'DELIVERED per member and aggregate',
  });
  assert.deepEqual(await statuses(), ['DELIVERED 1-2 ben', 'DELIVERED 1-2 cat', 'DELIVERED 1-2 *']);
  await h.report('ben', chat, 'READ', 2);
  await h.report('cat', chat, 'READ', 2);
  await waitFor(async () => (await statuses()).length === 6, { ...WAIT, description: 'READ per member and aggregate' });
  assert.deepEqual((await statuses()).slice(3), ['READ 1-2 ben', 'READ 1-2 cat', 'READ 1-2 *']);
});

test('stack: a report past the head is refused with its code and moves nothing', async () => {
  const chat = await h.createDirect('dot', 'eli');
  await h.send('dot', chat);
  const requestId = await h.report('eli', chat, 'READ', 50);
  await waitFor(() => h.localResults.find((r) => r.requestId === requestId), { ...WAIT, description: 'rejection' });
  assert.equal(h.localResults.find((r) => r.requestId === requestId)!.reason!.code, 'CM_ERR_RECEIPTS_BEYOND_HEAD');
  assert.deepEqual(await h.store.receipts.pointers(chat, 'eli'), { deliveredSeq: 0, readSeq: 0 });
});

test('stack: a message undelivered past the limit becomes FAILED for that recipient, with a notice on receipts.failed', async () => {
  const chat = await h.createGroup('fay', ['gus', 'hal']);
  const seq = await h.send('fay', chat);
  await h.report('gus', chat, 'DELIVERED', seq);
  await waitFor(async () => (await h.statuses('fay', chat)).some((u) => u.status === 'FAILED'), {
    ...WAIT,
    description: 'FAILED (fail-after 6 s)',
  });
  const failed = (await h.statuses('fay', chat)).filter((u) => u.status === 'FAILED');
  assert.deepEqual(show(failed), [`FAILED ${seq}-${seq} hal`]);
  await waitFor(async () => (await h.failedNotices()).some((n) => n.chatId === chat && n.recipientUserId === 'hal'), {
    ...WAIT,
    description: 'the FAILED notice',
  });
  const notices = (await h.failedNotices()).filter((n) => n.chatId === chat);
  assert.equal(notices.length, 1, 'one notice: gus got it');
  assert.equal(notices[0]!.seq, seq);
  assert.deepEqual(notices[0]!.messageEvent, (await h.store.chatLog.get(chat, seq))!.payload);
});
