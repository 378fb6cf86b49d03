import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedLruMap } from '../index.js';

test('beyond its bound the map forgets the least recently used key', () => {
  const map = new BoundedLruMap<string, number>(2);
  map.set('a', 1).set('b', 2).set('c', 3);
  assert.equal(map.size, 2);
  assert.equal(map.has('a'), false);
  assert.deepEqual(
    [...map.entries()],
    [
      ['b', 2],
      ['c', 3],
    ],
  );
});

test('get and set count as a use, peek and has do not', () => {
  const map = new BoundedLruMap<string, number>(2);
  map.set('a', 1).set('b', 2);
  assert.equal(map.get('a'), 1);
  map.set('c', 3);
  assert.deepEqual([...map.keys()], ['a', 'c'], 'b was the least recently used after get(a)');
  assert.equal(map.peek('a'), 1);
  assert.equal(map.has('a'), true);
  map.set('d', 4);
  assert.deepEqual([...map.keys()], ['c', 'd'], 'peek and has did not save a');
  map.set('c', 30);
  map.set('e', 5);
  assert.deepEqual(
    [...map.entries()],
    [
      ['c', 30],
      ['e', 5],
    ],
  );
});

test('a missing key reads as undefined, and a stored undefined is still a use', () => {
  const map = new BoundedLruMap<string, number | undefined>(2);
  assert.equal(map.get('x'), undefined);
  map.set('u', undefined).set('v', 1);
  assert.equal(map.get('u'), undefined);
  map.set('w', 2);
  assert.deepEqual([...map.keys()], ['u', 'w']);
  assert.equal(map.delete('u'), true);
  map.clear();
  assert.equal(map.size, 0);
});

test('a bound that is not a positive integer is refused', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new BoundedLruMap(bad), { code: 'CM_ERR_COMMON_INVALID_ARGUMENT' });
  }
  assert.equal(new BoundedLruMap(3).maxEntries, 3);
});
