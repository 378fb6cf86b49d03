/** One reading of the run's counters. */
export interface ProgressSample {
  /** Milliseconds since the measured phase began. */
  readonly atMs: number;
  /** Accepted acknowledgements the driver has received (measured sends only). */
  readonly acks: number;
  /** Inbox rows appended since the measured phase began. */
  readonly inboxRows: number;
  /** InboxDelivery records the driver's gateway received since the measured phase began. */
  readonly deliveries: number;
}

/** A rate measured between two samples. */
export interface MeasuredRate {
  readonly perSecond: number;
  readonly count: number;
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * The rate of `field` from the first sample at or after `fromMs` (the end of the warm-up) to the first
 * sample whose `field` reached `toCount` (everything expected arrived), or the last sample when it never
 * did. Null when that window holds fewer than two distinct instants (too short to measure).
 */
export function rateBetween(
  samples: readonly ProgressSample[],
  field: 'acks' | 'inboxRows' | 'deliveries',
  window: { readonly fromMs: number; readonly toCount: number },
): MeasuredRate | null {
  const start = samples.find((sample) => sample.atMs >= window.fromMs);
  if (!start) return null;
  const end = samples.find((sample) => sample.atMs >= start.atMs && sample[field] >= window.toCount) ?? samples.at(-1);
  if (!end || end.atMs <= start.atMs) return null;
  const count = end[field] - start[field];
  return { perSecond: (count * 1000) / (end.atMs - start.atMs), count, fromMs: start.atMs, toMs: end.atMs };
}
