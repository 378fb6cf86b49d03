/**
 * The open-loop schedule: message `i` of the run is due at `startMs + i × 1000 / rate`, whatever happened
 * to the messages before it (no waiting for acks). Latencies are measured from that scheduled time, not
 * from when the send actually left, so a stalled generator or a slow server shows up in the latencies
 * instead of silently lowering the offered rate (coordinated omission).
 */

/** When message `index` is due, in the clock of `startMs`. */
export function scheduledAtMs(startMs: number, ratePerSecond: number, index: number): number {
  return startMs + (index * 1000) / ratePerSecond;
}

/** How many messages (indices 0..n-1) are due at `nowMs`, never more than `total`. */
export function dueCount(startMs: number, ratePerSecond: number, total: number, nowMs: number): number {
  if (nowMs < startMs) return 0;
  return Math.min(total, Math.floor(((nowMs - startMs) * ratePerSecond) / 1000) + 1);
}

/**
 * One sender's share of the schedule: the global indices it sends (ascending), handed out as they fall
 * due. Several processes each run one over their own indices of the same global schedule.
 */
export class OpenLoopScheduler {
  private next = 0;

  constructor(
    private readonly startMs: number,
    private readonly ratePerSecond: number,
    /** Global message indices this sender sends, ascending. */
    private readonly indices: ArrayLike<number>,
  ) {
    for (let i = 1; i < indices.length; i++) {
      if (indices[i]! <= indices[i - 1]!) throw new RangeError('indices must be strictly ascending');
    }
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
  }

  /** When global message `index` is due. */
  scheduledAt(index: number): number {
    return scheduledAtMs(this.startMs, this.ratePerSecond, index);
  }

  /** Positions `[from, to)` in `indices` that are due at `nowMs` and not handed out yet. */
  takeDue(nowMs: number): { from: number; to: number } {
    const from = this.next;
    while (this.next < this.indices.length && this.scheduledAt(this.indices[this.next]!) <= nowMs) this.next++;
    return { from, to: this.next };
  }

  /** When the next message not handed out yet is due; null when every message was handed out. */
  nextDueMs(): number | null {
    return this.next < this.indices.length ? this.scheduledAt(this.indices[this.next]!) : null;
  }

  get done(): boolean {
    return this.next >= this.indices.length;
  }

  get handedOut(): number {
    return this.next;
  }
}
