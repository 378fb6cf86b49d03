import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentPayloads } from '../recent-payloads.js';

test('recent payloads are bounded in bytes, least recently used dropped first', () => {
  const cache = new RecentPayloads(10);
  cache.put('c', 1, Buffer.alloc(4, 1));
  cache.put('c', 2, Buffer.alloc(4, 2));
  assert.equal(cache.get('c', 1)?.[0], 1); // 1 is now the most recent
  cache.put('c', 3, Buffer.alloc(4, 3)); // 12 bytes: 2 goes
  assert.equal(cache.get('c', 2), undefined);
  assert.equal(cache.get('c', 1)?.[0], 1);
  assert.equal(cache.get('c', 3)?.[0], 3);
  assert.equal(cache.bytes, 8);
  cache.put('c', 3, Buffer.alloc(2, 9)); // replacing an entry counts its new size only
  assert.equal(cache.bytes, 6);
  cache.put('d', 1, Buffer.alloc(11)); // larger than the whole cache: not kept, nothing evicted
  assert.equal(cache.get('d', 1), undefined);
  assert.equal(cache.bytes, 6);
  assert.equal(cache.get('other', 1), undefined);
});
