import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { limitsFor } from '../options.js';
import { createPlan } from '../plan.js';
import { addPerSecond, judge, meanRate } from '../verdict.js';

/** Counts by brute force what the plan's arithmetic says. */
function expectedByBruteForce(plan: ReturnType<typeof createPlan>, chat: number, user: number): number {
  let count = 0;
  for (let message = 0; message < plan.params.messages; message++) {
    if (plan.chatOf(message) === chat && plan.senderOf(message) !== user) count++;
  }
  return count;
}

test('direct: pairs take turns, one recipient per message', () => {
  const plan = createPlan({ scenario: 'direct', runId: 'r1', chats: 3, members: 2, messages: 10 });
  assert.equal(plan.userCount, 6);
  assert.equal(plan.deviceCount, 6);
  assert.equal(plan.recipientsPerMessage, 1);
  assert.deepEqual(plan.members(1), [2, 3]);
  assert.equal(plan.chatId(1), directChatId('sdr1-u2', 'sdr1-u3'));
  assert.deepEqual(
    [0, 3, 6, 9].map((m) => plan.senderOf(m)),
    [0, 1, 0, 1],
  );
  assert.equal(plan.messagesInChat(0), 4);
  assert.equal(plan.messagesInChat(2), 3);
  for (let chat = 0; chat < 3; chat++)
    for (const user of plan.members(chat))
      assert.equal(plan.expectedFor(chat, user), expectedByBruteForce(plan, chat, user));
  assert.equal(plan.sendRatePerUserChat(600), 100);
});

test('group: consecutive messages come from consecutive members; members − 1 recipients', () => {
  const plan = createPlan({ scenario: 'group', runId: 'r2', chats: 2, members: 5, messages: 23 });
  assert.equal(plan.userCount, 10);
  assert.equal(plan.recipientsPerMessage, 4);
  assert.equal(plan.chatId(1), 'sdr2-g1');
  assert.equal(plan.chatKind(0), 'group');
  assert.deepEqual(plan.chatsOf(7), [1]);
  assert.equal(plan.memberIndex(1, 7), 2);
  assert.deepEqual(
    [1, 3, 5, 7, 9, 11].map((m) => plan.senderOf(m)),
    [5, 6, 7, 8, 9, 5],
  );
  for (let chat = 0; chat < 2; chat++)
    for (const user of plan.members(chat))
      assert.equal(plan.expectedFor(chat, user), expectedByBruteForce(plan, chat, user));
  assert.throws(() => plan.memberIndex(0, 7), RangeError);
});

test('catchup: every peer writes to user 0, who has an online watch and an offline phone', () => {
  const plan = createPlan({ scenario: 'catchup', runId: 'r3', chats: 4, members: 2, messages: 10 });
  assert.equal(plan.userCount, 5);
  assert.equal(plan.deviceCount, 6);
  assert.equal(plan.offlineDevice, 1);
  assert.deepEqual(plan.device(0), { user: 0, deviceId: 'watch' });
  assert.deepEqual(plan.device(1), { user: 0, deviceId: 'phone' });
  assert.deepEqual(plan.device(2), { user: 1, deviceId: 'd' });
  assert.equal(plan.deviceOf(3), 4);
  assert.deepEqual(plan.members(2), [3, 0], 'the peer creates the chat');
  assert.deepEqual(plan.chatsOf(0), [0, 1, 2, 3]);
  assert.equal(plan.senderOf(6), 3);
  assert.equal(plan.expectedFor(2, 0), 2);
  assert.equal(plan.expectedFor(2, 3), 0);
  assert.equal(plan.sendRatePerUserChat(400), 100);
});

test('client message ids carry the run and the message index', () => {
  const plan = createPlan({ scenario: 'direct', runId: 'abc', chats: 2, members: 2, messages: 5 });
  assert.equal(plan.clientMessageId(4), 'abc.4');
  assert.equal(plan.messageOf('abc.4'), 4);
  assert.equal(plan.messageOf('abc.5'), null, 'beyond the run');
  assert.equal(plan.messageOf('other.1'), null, 'another run');
  assert.equal(plan.messageOf('garbage'), null);
});

test('rate limits are raised only when the run would hit them', () => {
  const none = limitsFor({ sendsPerUserChat: 0.1, sendsPerDevice: 0.1, receivesPerDevice: 0.1, ackIntervalMs: 50 });
  assert.deepEqual(none.env, {});
  const group = limitsFor({ sendsPerUserChat: 0.2, sendsPerDevice: 0.2, receivesPerDevice: 200, ackIntervalMs: 50 });
  assert.deepEqual(group.env, {}, '20 acks/s + 0.2 sends/s fit in 30 frames/s');
  const hot = limitsFor({ sendsPerUserChat: 40, sendsPerDevice: 40, receivesPerDevice: 40, ackIntervalMs: 50 });
  assert.equal(hot.env['CHATMESH_INGEST_SEND_RATE_PER_SECOND'], '80');
  assert.equal(hot.env['CHATMESH_INGEST_SEND_BURST'], '160');
  assert.equal(hot.env['CHATMESH_GATEWAY_CONNECTION_RATE_PER_SECOND'], '120');
  assert.equal(hot.reasons.length, 2);
});

test('per-second series add up over processes and average over a window', () => {
  const total = addPerSecond([[1, 2, 3], [10, 20], []]);
  assert.deepEqual(total, [11, 22, 3]);
  assert.equal(meanRate(total, 1, 3), 12.5);
  assert.equal(meanRate(total, 2, 5), 1, 'missing seconds count as 0');
  assert.ok(Number.isNaN(meanRate(total, 3, 3)));
});

test('the verdict says plainly why a rate was not sustained', () => {
  const clean = {
    ledger: {
      expected: 100,
      received: 100,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
      inboxRegressions: 0,
      unexpected: 0,
      echoes: 100,
    },
    offeredDeliveriesPerSecond: 100,
    deliveredPerSecond: 99,
    late: 0,
    lateMs: 1000,
    rejected: 0,
    unsent: 0,
    sendLagP99Ms: 3,
    failedConnections: 0,
    serverCloses: 0,
  };
  assert.deepEqual(judge(clean), { sustained: true, problems: [], warnings: [] });
  const bad = judge({
    ...clean,
    ledger: { ...clean.ledger, received: 90, lost: 10, duplicates: 1 },
    deliveredPerSecond: 50,
    late: 7,
    sendLagP99Ms: 80,
  });
  assert.equal(bad.sustained, false);
  assert.equal(bad.problems.length, 4);
  assert.match(bad.problems.join('\n'), /10 of 100 deliveries lost/);
  assert.match(bad.problems.join('\n'), /delivered 50\/s of 100\/s/);
  assert.equal(bad.warnings.length, 1);
  const fill = judge({ ...clean, deliveredPerSecond: 10, late: 50, fillOnly: true });
  assert.equal(fill.sustained, true, 'catchup: a slow fill is not the measured part');
});
