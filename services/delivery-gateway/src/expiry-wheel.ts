/**
 * Token expiry for every socket of a gateway with one timer (a hashed timer wheel), instead of a
 * `setTimeout` per socket: a `Timeout` with its closure and boxed timestamps cost ~300 bytes per
 * connection, an entry here a few dozen.
 *
 * Time is cut into slots of `resolutionMs`; an item expiring at `atMs` goes to the first slot that ends
 * at or after it, and a single interval timer hands out every slot that has ended, in order. So an item
 * expires **never before** `atMs` and at most `resolutionMs` (plus the timer's own lateness) after it.
 * Slot numbers count from the wheel's creation, so they stay small integers (no heap number to store).
 */
export class ExpiryWheel<T> {
  private readonly slots = new Map<number, Set<T>>();
  /** Slot number 0 ends at `originMs + resolutionMs`. */
  private readonly originMs: number;
  /** Every slot up to this one has been handed out. */
  private lastDueSlot: number;
  private timer: NodeJS.Timeout | null = null;

  /**
   * @param onExpire called once per item whose time has come (it is removed first)
   * @param now the clock (tests pass their own)
   */
  constructor(
    private readonly resolutionMs: number,
    private readonly onExpire: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.originMs = now();
    this.lastDueSlot = -1;
  }

  /** Items waiting. */
  get size(): number {
    let size = 0;
    for (const slot of this.slots.values()) size += slot.size;
    return size;
  }

  /**
   * The slot of an expiry at `atMs` (a small integer, so storing it costs no heap number): pass it to
   * {@link add} later.
   */
  slotOf(atMs: number): number {
    return Math.max(0, Math.ceil((atMs - this.originMs) / this.resolutionMs) - 1);
  }

  /**
   * Schedules `item` in `slot` (from {@link slotOf}; one that is already due: the next tick) and returns
   * the slot it is in, which {@link remove} needs. The wheel's timer starts with the first item (unref'd:
   * it never keeps the process alive).
   */
  add(item: T, slot: number): number {
    const at = Math.max(this.lastDueSlot + 1, slot);
    let items = this.slots.get(at);
    if (!items) this.slots.set(at, (items = new Set()));
    items.add(item);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.resolutionMs);
      this.timer.unref();
    }
    return at;
  }

  /** Unschedules `item` (added with `slot`); nothing when it is not there any more. */
  remove(item: T, slot: number): void {
    const items = this.slots.get(slot);
    if (!items) return;
    items.delete(item);
    if (items.size === 0) this.slots.delete(slot);
  }

  /** Hands out every slot that has ended by now, oldest first. Called by the wheel's timer. */
  tick(): void {
    const dueSlot = Math.floor((this.now() - this.originMs) / this.resolutionMs) - 1;
    for (let slot = this.lastDueSlot + 1; slot <= dueSlot; slot++) {
      const items = this.slots.get(slot);
      // Marked due before the callbacks run, so an item they add lands in a later slot.
      this.lastDueSlot = slot;
      if (!items) continue;
      this.slots.delete(slot);
      for (const item of items) this.onExpire(item);
    }
    if (dueSlot > this.lastDueSlot) this.lastDueSlot = dueSlot;
  }

  /** Stops the timer and forgets every item. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.slots.clear();
  }
}
