import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateBetween, type ProgressSample } from '../index.js';

const at = (atMs: number, inboxRows: number): ProgressSample => ({ atMs, acks: 0, inboxRows, deliveries: 0 });

test('rateBetween measures from the end of the warm-up to the sample where everything arrived', () => {
  const samples = [at(0, 0), at(1000, 500), at(2000, 1500), at(3000, 2500), at(4000, 2500)];
  const rate = rateBetween(samples, 'inboxRows', { fromMs: 900, toCount: 2500 });
  assert.deepEqual(rate, { perSecond: 1000, count: 2000, fromMs: 1000, toMs: 3000 });
});

test('rateBetween ends at the last sample when the expected count never arrived', () => {
  const rate = rateBetween([at(0, 0), at(500, 100), at(1000, 200)], 'inboxRows', { fromMs: 0, toCount: 1000 });
  assert.equal(rate?.perSecond, 200);
  assert.equal(rate?.toMs, 1000);
});

test('rateBetween is null when the window is too short to measure', () => {
  assert.equal(rateBetween([], 'inboxRows', { fromMs: 0, toCount: 1 }), null);
  assert.equal(rateBetween([at(0, 5)], 'inboxRows', { fromMs: 0, toCount: 5 }), null);
  assert.equal(rateBetween([at(0, 0), at(100, 5)], 'inboxRows', { fromMs: 200, toCount: 5 }), null);
});
