import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkHistory, isClean, type ChaosHistory, type DeliveryRecord, type SendRecord } from '../checker.js';

// A direct chat a↔b and a group a, b, c; one device each.
const chats = new Map<string, readonly string[]>([
  ['ab', ['a', 'b']],
  ['g', ['a', 'b', 'c']],
]);
const devices = ['a', 'b', 'c', 'd'].map((userId) => ({ userId, deviceId: 'phone', offline: [] }));

const send = (from: string, chatId: string, id: string, seq: number, sentAtMs = 0, ackAtMs = 10): SendRecord => ({
  senderUserId: from,
  senderDeviceId: 'phone',
  chatId,
  clientMessageId: id,
  sentAtMs,
  ack: { seq, atMs: ackAtMs },
});
const shown = (to: string, chatId: string, seq: number, id: string, from: string, atMs = 20): DeliveryRecord => ({
  userId: to,
  deviceId: 'phone',
  chatId,
  seq,
  clientMessageId: id,
  senderUserId: from,
  atMs,
});

/** a sends m1 (seq 2) and m2 (seq 3) to ab, and g1 (seq 2) to g; everyone shown everything once, in order. */
function cleanHistory(): { sends: SendRecord[]; deliveries: DeliveryRecord[] } {
  return {
    sends: [send('a', 'ab', 'm1', 2), send('a', 'ab', 'm2', 3), send('a', 'g', 'g1', 2)],
    deliveries: [
      shown('b', 'ab', 2, 'm1', 'a'),
      shown('b', 'ab', 3, 'm2', 'a'),
      shown('b', 'g', 2, 'g1', 'a'),
      shown('c', 'g', 2, 'g1', 'a'),
    ],
  };
}
const history = (parts: { sends: SendRecord[]; deliveries: DeliveryRecord[] }): ChaosHistory => ({
  chats,
  devices,
  faults: [],
  ...parts,
});

describe('checkHistory', () => {
  test('a clean history reports nothing', () => {
    const report = checkHistory(history(cleanHistory()));
    assert.ok(isClean(report), JSON.stringify(report));
    assert.equal(report.acknowledged, 3);
    assert.equal(report.delivered, 4);
  });

  test('an acknowledged message one member never saw is lost, for that device only', () => {
    const h = cleanHistory();
    h.deliveries = h.deliveries.filter((d) => !(d.userId === 'c' && d.clientMessageId === 'g1'));
    const report = checkHistory(history(h));
    assert.deepEqual(report.lost, [{ chatId: 'g', seq: 2, clientMessageId: 'g1', device: 'c/phone' }]);
    assert.equal(isClean(report), false);
  });

  test('an unacknowledged send is owed to no one, and a refused one is counted as failed', () => {
    const h = cleanHistory();
    h.sends.push(
      { ...send('a', 'ab', 'm3', 4), ack: undefined },
      { ...send('a', 'ab', 'm4', 5), ack: undefined, failedCode: 'X' },
    );
    const report = checkHistory(history(h));
    assert.ok(isClean(report));
    assert.equal(report.failed, 1);
    assert.equal(report.unanswered, 1);
  });

  test('the same entry shown twice is a duplicate', () => {
    const h = cleanHistory();
    h.deliveries.push(shown('b', 'ab', 2, 'm1', 'a', 30));
    const report = checkHistory(history(h));
    assert.deepEqual(report.duplicates, [
      { device: 'b/phone', chatId: 'ab', kind: 'same-seq', clientMessageId: 'm1', seqs: [2, 2] },
    ]);
    assert.deepEqual(report.reordered, [], 'a duplicate is not also an order violation');
  });

  test('one client message id shown at two seqs (stored twice) is a duplicate', () => {
    const h = cleanHistory();
    h.deliveries.push(shown('b', 'ab', 4, 'm1', 'a', 30));
    const report = checkHistory(history(h));
    assert.deepEqual(report.duplicates, [
      { device: 'b/phone', chatId: 'ab', kind: 'stored-twice', clientMessageId: 'm1', seqs: [2, 4] },
    ]);
  });

  test('a seq shown after a higher one of the same chat is an order violation; other chats are independent', () => {
    const h = cleanHistory();
    // b sees m2 (3) before m1 (2) in ab; the group's seq 2 after ab's 3 is fine.
    h.deliveries = [
      shown('b', 'ab', 3, 'm2', 'a'),
      shown('b', 'ab', 2, 'm1', 'a'),
      shown('b', 'g', 2, 'g1', 'a'),
      shown('c', 'g', 2, 'g1', 'a'),
    ];
    const report = checkHistory(history(h));
    assert.deepEqual(report.reordered, [{ device: 'b/phone', chatId: 'ab', seq: 2, after: 3 }]);
    assert.deepEqual(report.lost, []);
  });

  test('a message shown to a non-member is a leak', () => {
    const h = cleanHistory();
    h.deliveries.push(shown('d', 'g', 2, 'g1', 'a'), shown('c', 'ab', 2, 'm1', 'a'));
    const report = checkHistory(history(h));
    assert.deepEqual(report.leaked, [
      { device: 'd/phone', chatId: 'g', seq: 2 },
      { device: 'c/phone', chatId: 'ab', seq: 2 },
    ]);
  });

  test('another message at the acknowledged seq is an ack mismatch', () => {
    const h = cleanHistory();
    h.deliveries[0] = shown('b', 'ab', 2, 'other', 'a');
    const report = checkHistory(history(h));
    assert.deepEqual(report.ackMismatches, [
      { chatId: 'ab', seq: 2, ackedClientMessageId: 'm1', shownClientMessageId: 'other', device: 'b/phone' },
    ]);
    assert.equal(isClean(report), false);
  });

  test('recovery: first delivery, every online device delivering, and in-flight sends acknowledged, from the fault end', () => {
    const report = checkHistory({
      chats,
      devices: [
        { userId: 'a', deviceId: 'phone', offline: [] },
        { userId: 'b', deviceId: 'phone', offline: [] },
        // c is offline on purpose across the fault's end: it does not count.
        { userId: 'c', deviceId: 'phone', offline: [{ startMs: 900, endMs: 5_000 }] },
      ],
      faults: [{ label: 'kill ingest', startMs: 500, endMs: 1_000 }],
      sends: [
        send('a', 'ab', 'before', 2, 100, 200),
        send('a', 'ab', 'inflight', 3, 800, 1_700),
        send('b', 'g', 'g-inflight', 2, 900, 1_400),
        // c's own send while offline is not the fault's to recover.
        { ...send('c', 'g', 'c-offline', 3, 950, 6_000) },
      ],
      deliveries: [
        shown('b', 'ab', 2, 'before', 'a', 250),
        shown('a', 'g', 2, 'g-inflight', 'b', 1_300),
        shown('b', 'ab', 3, 'inflight', 'a', 1_800),
        shown('c', 'g', 2, 'g-inflight', 'b', 5_100),
        shown('a', 'g', 3, 'c-offline', 'c', 6_100),
        shown('b', 'g', 3, 'c-offline', 'c', 6_100),
      ],
    });
    assert.deepEqual(report.recovery, [
      {
        label: 'kill ingest',
        durationMs: 500,
        firstDeliveryMs: 300,
        allDevicesDeliveringMs: 800,
        inFlightAckedMs: 700,
        inFlightAtEnd: 2,
      },
    ]);
    assert.ok(isClean(report), JSON.stringify(report));
  });

  test('recovery: a send in flight at the fault end that is never acknowledged means not recovered', () => {
    const report = checkHistory({
      chats,
      devices,
      faults: [{ label: 'pause kafka', startMs: 0, endMs: 100 }],
      sends: [{ ...send('a', 'ab', 'stuck', 2, 50), ack: undefined }],
      deliveries: [],
    });
    assert.equal(report.recovery[0]?.inFlightAckedMs, null);
    assert.equal(report.recovery[0]?.firstDeliveryMs, null);
    assert.equal(report.recovery[0]?.allDevicesDeliveringMs, null);
  });
});
