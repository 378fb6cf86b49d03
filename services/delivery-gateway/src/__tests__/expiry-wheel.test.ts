import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExpiryWheel } from '../expiry-wheel.js';

function wheel(resolutionMs = 1000) {
  let nowMs = 1_700_000_000_000;
  const expired: string[] = [];
  const w = new ExpiryWheel<string>(
    resolutionMs,
    (item) => expired.push(item),
    () => nowMs,
  );
  return {
    w,
    expired,
    /** Moves the clock to `origin + ms` and runs the wheel's tick. */
    at(ms: number) {
      nowMs = 1_700_000_000_000 + ms;
      w.tick();
    },
    origin: 1_700_000_000_000,
  };
}

test('an item expires never before its time and at most one resolution after it', () => {
  const { w, expired, at, origin } = wheel(1000);
  w.add('a', w.slotOf(origin + 2500));
  w.add('b', w.slotOf(origin + 3000));
  w.add('c', w.slotOf(origin + 3001));
  assert.ok(w.slotOf(origin + 2500) < 1000, 'slots are small integers');
  at(2499);
  at(2999);
  assert.deepEqual(expired, [], 'nothing before its time');
  at(3000);
  assert.deepEqual(expired, ['a', 'b'], 'a (2500) and b (3000) by 3000');
  at(3999);
  assert.deepEqual(expired, ['a', 'b']);
  at(4000);
  assert.deepEqual(expired, ['a', 'b', 'c'], 'c (3001) by 4000');
  assert.equal(w.size, 0);
  w.stop();
});

test('a late tick hands out every slot that ended meanwhile, oldest first, each item once', () => {
  const { w, expired, at, origin } = wheel(100);
  w.add('late', w.slotOf(origin + 950));
  w.add('early', w.slotOf(origin + 120));
  w.add('mid', w.slotOf(origin + 500));
  at(10_000);
  assert.deepEqual(expired, ['early', 'mid', 'late']);
  at(20_000);
  assert.equal(expired.length, 3);
  w.stop();
});

test('a removed item never expires; an item added for a past time expires at the next tick', () => {
  const { w, expired, at, origin } = wheel(1000);
  const slot = w.add('closed', w.slotOf(origin + 1500));
  w.add('open', w.slotOf(origin + 1500));
  w.remove('closed', slot);
  w.remove('never-added', slot);
  at(5000);
  assert.deepEqual(expired, ['open']);
  const pastSlot = w.add('already-expired', w.slotOf(origin + 100));
  assert.ok(pastSlot > w.slotOf(origin + 100), 'moved to a slot not handed out yet');
  at(5001);
  assert.deepEqual(expired, ['open']);
  at(6000);
  assert.deepEqual(expired, ['open', 'already-expired']);
  w.stop();
});

test('the clock going back expires nothing early; stop() forgets everything', () => {
  const { w, expired, at, origin } = wheel(1000);
  at(10_000);
  w.add('x', w.slotOf(origin + 12_000));
  at(5_000);
  at(11_999);
  assert.deepEqual(expired, []);
  w.stop();
  at(60_000);
  assert.deepEqual(expired, []);
  assert.equal(w.size, 0);
});
