import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketOf, bucketUpperMs, LatencyHistogram } from '../histogram.js';

test('percentiles are within 1 % above the exact nearest-rank values, and the extremes are exact', () => {
  const histogram = new LatencyHistogram();
  const values = Array.from({ length: 10_000 }, (_, i) => (i + 1) / 10); // 0.1 .. 1000 ms
  for (const value of values) histogram.record(value);
  const p = histogram.percentiles();
  assert.equal(p.count, 10_000);
  const within = (got: number, exact: number): void => {
    assert.ok(got >= exact - 0.05 && got <= exact * 1.01 + 0.05, `${got} not within 1 % above ${exact}`);
  };
  within(p.p50Ms, 500);
  within(p.p99Ms, 990);
  within(p.p999Ms, 999);
  assert.equal(p.maxMs, 1000);
  assert.equal(p.meanMs, 500.1);
});

test('a single value is reported exactly (clamped to min and max)', () => {
  const histogram = new LatencyHistogram();
  histogram.record(42.42);
  assert.deepEqual(histogram.percentiles(), {
    count: 1,
    p50Ms: 42.4,
    p99Ms: 42.4,
    p999Ms: 42.4,
    maxMs: 42.4,
    meanMs: 42.4,
  });
});

test('the tail is not hidden: one slow delivery in 1,000 is the p99.9', () => {
  const histogram = new LatencyHistogram();
  for (let i = 0; i < 999; i++) histogram.record(2);
  histogram.record(5000);
  const p = histogram.percentiles();
  assert.ok(p.p99Ms <= 2.02);
  assert.ok(p.p999Ms <= 2.02, 'rank 999 of 1000 is still a fast one');
  histogram.record(5000);
  assert.equal(histogram.quantile(0.999), 5000);
  assert.equal(histogram.percentiles().maxMs, 5000);
});

test('empty histograms give NaN, negative values count as 0', () => {
  const empty = new LatencyHistogram().percentiles();
  assert.ok(Number.isNaN(empty.p50Ms) && Number.isNaN(empty.maxMs) && empty.count === 0);
  const histogram = new LatencyHistogram();
  histogram.record(-3);
  assert.equal(histogram.percentiles().p50Ms, 0);
});

test('merging the serialized histograms of several processes equals one histogram of all values', () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const all = new LatencyHistogram();
  for (let i = 0; i < 5000; i++) {
    const value = Math.exp((i % 97) / 10);
    (i % 2 === 0 ? a : b).record(value);
    all.record(value);
  }
  // What goes over IPC is JSON.
  const merged = LatencyHistogram.fromData(JSON.parse(JSON.stringify(a.toData())));
  merged.merge(JSON.parse(JSON.stringify(b.toData())));
  merged.merge(JSON.parse(JSON.stringify(new LatencyHistogram().toData()))); // an idle worker
  assert.deepEqual(merged.percentiles(), all.percentiles());
});

test('buckets are 1 % wide and cover microseconds to hours', () => {
  assert.equal(bucketOf(0), 0);
  assert.ok(bucketUpperMs(bucketOf(1)) >= 1 && bucketUpperMs(bucketOf(1)) < 1.0101);
  assert.ok(bucketUpperMs(bucketOf(3_600_000)) >= 3_600_000);
  assert.ok(bucketOf(10 * 3_600_000) === bucketOf(100 * 3_600_000), 'beyond the range lands in the last bucket');
});
