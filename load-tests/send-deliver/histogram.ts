/**
 * A latency histogram with logarithmic buckets (1 % wide), so millions of deliveries cost a few KiB and
 * the histograms of several worker processes merge exactly. Percentiles use the nearest rank over the
 * buckets and answer the bucket's upper bound (clamped to the exact min and max seen), so a reported
 * p99 is never below the true p99 and at most 1 % above it.
 */

/** Smallest value with its own bucket, in ms (1 µs); anything below lands in bucket 0. */
const MIN_MS = 0.001;
/** Bucket growth factor: each bucket is 1 % wider than the previous one. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Buckets up to ~2 hours; anything above lands in the last one (its exact max is kept). */
const BUCKETS = Math.ceil(Math.log((2 * 3600 * 1000) / MIN_MS) / LOG_GROWTH) + 1;

/** What a histogram serializes to (IPC, JSON): sparse `[bucket, count]` pairs plus the exact extremes. */
export interface HistogramData {
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  readonly count: number;
  readonly sumMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/** Percentiles of a histogram, in ms, rounded to 0.1 ms (NaN when empty). */
export interface LatencyPercentiles {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** The bucket of a value in ms. */
export function bucketOf(valueMs: number): number {
  if (!(valueMs > MIN_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(valueMs / MIN_MS) / LOG_GROWTH));
}

/** The upper bound of a bucket, in ms. */
export function bucketUpperMs(bucket: number): number {
  return MIN_MS * GROWTH ** bucket;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  /** Records one value in ms (negative values, a clock skew, count as 0). */
  record(valueMs: number): void {
    const value = valueMs > 0 ? valueMs : 0;
    this.counts[bucketOf(value)]! += 1;
    this.total++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  get count(): number {
    return this.total;
  }

  /** Adds another histogram's values (exact: same buckets). */
  merge(other: HistogramData): void {
    for (const [bucket, count] of other.buckets) this.counts[bucket]! += count;
    this.total += other.count;
    this.sum += other.sumMs;
    if (other.count > 0) {
      this.min = Math.min(this.min, other.minMs);
      this.max = Math.max(this.max, other.maxMs);
    }
  }

  /** The value at quantile `q` (0..1), nearest rank: the upper bound of the bucket holding that rank. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, bucketUpperMs(bucket)));
    }
    return this.max;
  }

  percentiles(): LatencyPercentiles {
    const round = (value: number): number => Math.round(value * 10) / 10;
    return {
      count: this.total,
      p50Ms: round(this.quantile(0.5)),
      p99Ms: round(this.quantile(0.99)),
      p999Ms: round(this.quantile(0.999)),
      maxMs: this.total === 0 ? Number.NaN : round(this.max),
      meanMs: this.total === 0 ? Number.NaN : round(this.sum / this.total),
    };
  }

  toData(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      const count = this.counts[bucket]!;
      if (count > 0) buckets.push([bucket, count]);
    }
    return { buckets, count: this.total, sumMs: this.sum, minMs: this.min, maxMs: this.max };
  }

  static fromData(data: HistogramData): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.merge(data);
    return histogram;
  }
}
