import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLine, formatBytes } from '../gateway-report.js';

test('fitLine recovers slope and intercept of points on a line', () => {
  const fit = fitLine([1000, 5000, 10_000, 18_000].map((x) => ({ x, y: 100_000_000 + 1800 * x })));
  assert.ok(Math.abs(fit.slope - 1800) < 1e-6);
  assert.ok(Math.abs(fit.intercept - 100_000_000) < 1e-3);
  assert.equal(fit.r2, 1);
});

test('fitLine is least squares on noisy points and NaN with one distinct x', () => {
  const fit = fitLine([
    { x: 0, y: 1 },
    { x: 1, y: 3 },
    { x: 2, y: 2 },
  ]);
  assert.equal(fit.slope, 0.5);
  assert.equal(fit.intercept, 1.5);
  assert.ok(fit.r2 > 0 && fit.r2 < 1);
  assert.ok(
    Number.isNaN(
      fitLine([
        { x: 3, y: 1 },
        { x: 3, y: 2 },
      ]).slope,
    ),
  );
});

test('formatBytes picks KiB or MiB', () => {
  assert.equal(formatBytes(2048), '2.00 KiB');
  assert.equal(formatBytes(3 * 1024 ** 2), '3.0 MiB');
  assert.equal(formatBytes(Number.NaN), 'n/a');
});
