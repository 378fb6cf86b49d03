import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryLedger, mergeLedgerSummaries } from '../ledger.js';

test('every expected message once and in order: nothing lost, duplicated or out of order', () => {
  const ledger = new DeliveryLedger();
  const slot = ledger.addSlot(4, 4, 2);
  for (let ordinal = 0; ordinal < 4; ordinal++) {
    assert.equal(ledger.record(slot, ordinal, ordinal % 2, ordinal + 10), 'received');
    ledger.recordInboxSeq(0, ordinal + 1);
  }
  assert.deepEqual(ledger.summary(), {
    expected: 4,
    received: 4,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    inboxRegressions: 0,
    unexpected: 0,
    echoes: 0,
  });
});

test('a message never delivered is lost; one delivered twice is a duplicate, counted once', () => {
  const ledger = new DeliveryLedger();
  const slot = ledger.addSlot(3, 3, 1);
  ledger.record(slot, 0, 0, 1);
  assert.equal(ledger.record(slot, 0, 0, 1), 'duplicate');
  ledger.record(slot, 2, 0, 3);
  const summary = ledger.summary();
  assert.equal(summary.lost, 1);
  assert.equal(summary.duplicates, 1);
  assert.equal(summary.received, 2);
  assert.equal(summary.outOfOrder, 0, 'a gap is loss, not disorder');
  assert.equal(ledger.receivedAt(slot), 2);
});

test('a chat seq that goes backwards is out of order', () => {
  const ledger = new DeliveryLedger();
  const slot = ledger.addSlot(3, 3, 3);
  ledger.record(slot, 0, 0, 5);
  ledger.record(slot, 2, 2, 7);
  ledger.record(slot, 1, 1, 6); // different senders, but the chat's order is broken
  assert.equal(ledger.summary().outOfOrder, 1);
});

test("a sender's own order is checked too: its later message before its earlier one", () => {
  const ledger = new DeliveryLedger();
  const slot = ledger.addSlot(4, 4, 2);
  // Ingest sequenced sender 0's ordinal 2 before its ordinal 0 (seq rises, the sender's order does not).
  ledger.record(slot, 2, 0, 1);
  ledger.record(slot, 0, 0, 2);
  assert.equal(ledger.summary().outOfOrder, 1);
});

test('inbox positions must rise per device; unexpected deliveries and echoes are counted apart', () => {
  const ledger = new DeliveryLedger();
  ledger.recordInboxSeq(1, 5);
  ledger.recordInboxSeq(1, 7);
  ledger.recordInboxSeq(1, 7);
  ledger.recordInboxSeq(2, 1);
  ledger.recordInboxSeq(1, 6);
  assert.equal(ledger.record(99, 0, 0, 1), 'unexpected');
  const slot = ledger.addSlot(2, 2, 2);
  assert.equal(ledger.record(slot, 5, 0, 1), 'unexpected', 'an ordinal beyond the chat');
  ledger.recordUnexpected();
  ledger.recordEcho();
  const summary = ledger.summary();
  assert.equal(summary.inboxRegressions, 2);
  assert.equal(summary.unexpected, 3);
  assert.equal(summary.echoes, 1);
  assert.equal(summary.lost, 2);
});

test('summaries of several processes add up', () => {
  const a = new DeliveryLedger();
  a.record(a.addSlot(2, 2, 2), 0, 0, 1);
  const b = new DeliveryLedger();
  const slot = b.addSlot(1, 1, 2);
  b.record(slot, 0, 1, 1);
  b.record(slot, 0, 1, 1);
  assert.deepEqual(mergeLedgerSummaries([a.summary(), b.summary()]), {
    expected: 3,
    received: 2,
    lost: 1,
    duplicates: 1,
    outOfOrder: 0,
    inboxRegressions: 0,
    unexpected: 0,
    echoes: 0,
  });
});
