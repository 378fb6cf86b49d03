/**
 * Token buckets keyed by an id, refilled continuously; idle buckets are dropped so memory stays bounded
 * by the number of active senders.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; updatedAtMs: number }>();
  readonly #ratePerSecond: number;
  readonly #burst: number;

  /** @param ratePerSecond sustained rate; @param burst bucket size (the most sent at once). */
  constructor(ratePerSecond: number, burst: number) {
    this.#ratePerSecond = ratePerSecond;
    this.#burst = burst;
  }

  /** Takes one token for `key` at `nowMs`; false when the bucket is empty. */
  take(key: string, nowMs: number): boolean {
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, updatedAtMs: nowMs };
    const refilled = Math.min(this.#burst, bucket.tokens + ((nowMs - bucket.updatedAtMs) / 1000) * this.#ratePerSecond);
    if (refilled < 1) {
      this.#buckets.set(key, { tokens: refilled, updatedAtMs: nowMs });
      return false;
    }
    this.#buckets.set(key, { tokens: refilled - 1, updatedAtMs: nowMs });
    if (this.#buckets.size > 100_000) this.#sweep(nowMs);
    return true;
  }

  #sweep(nowMs: number): void {
    const fullAfterMs = (this.#burst / this.#ratePerSecond) * 1000;
    for (const [key, bucket] of this.#buckets) {
      if (nowMs - bucket.updatedAtMs > fullAfterMs) this.#buckets.delete(key);
    }
  }
}
