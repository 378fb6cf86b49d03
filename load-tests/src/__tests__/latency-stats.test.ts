import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantileOf, summarizeLatencies } from '../index.js';

test('quantileOf uses the nearest rank, so it always returns a measured value', () => {
  const sorted = Array.from({ length: 100 }, (_unused, i) => i + 1);
  assert.equal(quantileOf(sorted, 0.5), 50);
  assert.equal(quantileOf(sorted, 0.99), 99);
  assert.equal(quantileOf(sorted, 1), 100);
  assert.equal(quantileOf(sorted, 0), 1);
  assert.equal(quantileOf([7], 0.99), 7);
  assert.ok(Number.isNaN(quantileOf([], 0.5)));
});

test('summarizeLatencies sorts its input and rounds to 0.1 ms', () => {
  const summary = summarizeLatencies([30, 10.04, 20, 40, 1000]);
  assert.equal(summary.count, 5);
  assert.equal(summary.p50Ms, 30);
  assert.equal(summary.p99Ms, 1000);
  assert.equal(summary.maxMs, 1000);
  assert.equal(summary.meanMs, 220);
  assert.equal(summarizeLatencies([10.04]).p50Ms, 10);
});
