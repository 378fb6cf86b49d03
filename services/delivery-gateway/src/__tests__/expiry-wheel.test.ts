import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExpiryWheel } from '../expiry-wheel.js';

/** Items are objects (a socket's session in the gateway); tests name them. */
interface Item {
  readonly name: string;
}
const items = new Map<string, Item>();
/** The item named `name` (the same object for the same name). */
const it = (name: string): Item => {
  let item = items.get(name);
  if (!item) items.set(name, (item = { name }));
  return item;
};

function wheel(resolutionMs = 1000) {
  let nowMs = 1_700_000_000_000;
  const expired: string[] = [];
  const w = new ExpiryWheel<Item>(
    resolutionMs,
    (item) => expired.push(item.name),
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
  w.add(it('a'), w.slotOf(origin + 2500));
  w.add(it('b'), w.slotOf(origin + 3000));
  w.add(it('c'), w.slotOf(origin + 3001));
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
  w.add(it('late'), w.slotOf(origin + 950));
  w.add(it('early'), w.slotOf(origin + 120));
  w.add(it('mid'), w.slotOf(origin + 500));
  at(10_000);
  assert.deepEqual(expired, ['early', 'mid', 'late']);
  at(20_000);
  assert.equal(expired.length, 3);
  w.stop();
});

test('a removed item never expires; an item added for a past time expires at the next tick', () => {
  const { w, expired, at, origin } = wheel(1000);
  const slot = w.add(it('closed'), w.slotOf(origin + 1500));
  w.add(it('open'), w.slotOf(origin + 1500));
  w.remove(it('closed'), slot);
  w.remove(it('never-added'), slot);
  at(5000);
  assert.deepEqual(expired, ['open']);
  const pastSlot = w.add(it('already-expired'), w.slotOf(origin + 100));
  assert.ok(pastSlot > w.slotOf(origin + 100), 'moved to a slot not handed out yet');
  at(5001);
  assert.deepEqual(expired, ['open']);
  at(6000);
  assert.deepEqual(expired, ['open', 'already-expired']);
  w.stop();
});

test('several items in one slot: each expires once, a removed one never, whichever position it had', () => {
  const { w, expired, at, origin } = wheel(1000);
  const slot = w.add(it('s1'), w.slotOf(origin + 1100));
  assert.equal(w.add(it('s2'), w.slotOf(origin + 1500)), slot);
  assert.equal(w.add(it('s3'), w.slotOf(origin + 2000)), slot);
  assert.equal(w.size, 3);
  w.remove(it('s2'), slot);
  assert.equal(w.size, 2);
  w.remove(it('s3'), slot);
  w.add(it('s4'), slot);
  at(2000);
  assert.deepEqual(expired, ['s1', 's4']);
  assert.equal(w.size, 0);
  w.stop();
});

test('the clock going back expires nothing early; stop() forgets everything', () => {
  const { w, expired, at, origin } = wheel(1000);
  at(10_000);
  w.add(it('x'), w.slotOf(origin + 12_000));
  at(5_000);
  at(11_999);
  assert.deepEqual(expired, []);
  w.stop();
  at(60_000);
  assert.deepEqual(expired, []);
  assert.equal(w.size, 0);
});
