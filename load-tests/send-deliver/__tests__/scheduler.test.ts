import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueCount, OpenLoopScheduler, scheduledAtMs } from '../scheduler.js';

test('message i is due at start + i / rate, whatever happened before', () => {
  assert.equal(scheduledAtMs(1000, 500, 0), 1000);
  assert.equal(scheduledAtMs(1000, 500, 1), 1002);
  assert.equal(scheduledAtMs(1000, 500, 500), 2000);
  assert.equal(dueCount(1000, 500, 10_000, 999), 0);
  assert.equal(dueCount(1000, 500, 10_000, 1000), 1);
  assert.equal(dueCount(1000, 500, 10_000, 1999.9), 500);
  assert.equal(dueCount(1000, 500, 10, 5000), 10, 'never more than the total');
});

test('a stalled sender gets everything that fell due at once (open loop: the rate is not lowered)', () => {
  const scheduler = new OpenLoopScheduler(
    0,
    100,
    Int32Array.from({ length: 100 }, (_, i) => i),
  );
  assert.deepEqual(scheduler.takeDue(0), { from: 0, to: 1 });
  assert.deepEqual(scheduler.takeDue(5), { from: 1, to: 1 }, 'nothing new before 10 ms');
  assert.equal(scheduler.nextDueMs(), 10);
  // 300 ms stall: 30 messages are due now, and each keeps its scheduled time for the latency.
  assert.deepEqual(scheduler.takeDue(300), { from: 1, to: 31 });
  assert.equal(scheduler.scheduledAt(1), 10);
  assert.equal(scheduler.scheduledAt(30), 300);
  assert.deepEqual(scheduler.takeDue(10_000), { from: 31, to: 100 });
  assert.ok(scheduler.done);
  assert.equal(scheduler.nextDueMs(), null);
  assert.equal(scheduler.handedOut, 100);
});

test('each process takes its own indices of the one global schedule', () => {
  const rate = 1000;
  const mine = [1, 4, 7, 10];
  const scheduler = new OpenLoopScheduler(50, rate, mine);
  assert.equal(scheduler.nextDueMs(), 51);
  assert.deepEqual(scheduler.takeDue(53.9), { from: 0, to: 1 });
  assert.deepEqual(scheduler.takeDue(57), { from: 1, to: 3 });
  assert.equal(scheduler.nextDueMs(), 60);
});

test('bad input is refused', () => {
  assert.throws(() => new OpenLoopScheduler(0, 10, [3, 2]), RangeError);
  assert.throws(() => new OpenLoopScheduler(0, 0, [1]), RangeError);
  assert.ok(new OpenLoopScheduler(0, 10, []).done);
});
