/** Percentiles of a set of latencies, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/**
 * The value at quantile `q` (0..1) of `sorted` (ascending), nearest-rank method, so the result is always
 * one of the measured values. Returns NaN for an empty list.
 */
export function quantileOf(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(Math.min(1, Math.max(0, q)) * sorted.length);
  return sorted[Math.max(0, rank - 1)] ?? Number.NaN;
}

/** Summarizes latencies (any order); values are rounded to 0.1 ms. */
export function summarizeLatencies(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (value: number): number => Math.round(value * 10) / 10;
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50Ms: round(quantileOf(sorted, 0.5)),
    p90Ms: round(quantileOf(sorted, 0.9)),
    p99Ms: round(quantileOf(sorted, 0.99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
    meanMs: sorted.length === 0 ? Number.NaN : round(sum / sorted.length),
  };
}
