/**
 * Token expiry for every socket of a gateway with one timer (a hashed timer wheel), instead of a
 * `setTimeout` per socket: a `Timeout` with its closure and boxed timestamps cost ~300 bytes per
 * connection, an item here one map entry when it is alone in its slot (tokens issued over a day spread
 * over ~86,400 slots, so most are), or one array slot when several share it (a burst of connects).
 *
 * Time is cut into slots of `resolutionMs`; an item expiring at `atMs` goes to the first slot that ends
 * at or after it, and a single interval timer hands out every slot that has ended, in order. So an item
 * expires **never before** `atMs` and at most `resolutionMs` (plus the timer's own lateness) after it.
 * Slot numbers count from the wheel's creation, so they stay small integers (no heap number to store).
 * Items must not be arrays (a slot holds its item itself, or an array of them), and an item is added
 * once (again only after it expired or was removed).
 */
export class ExpiryWheel<T extends object> {
  private readonly slots = new Map<number, T | T[]>();
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
    for (const items of this.slots.values()) size += Array.isArray(items) ? items.length : 1;
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
    const items = this.slots.get(at);
    if (items === undefined) this.slots.set(at, item);
    else if (Array.isArray(items)) items.push(item);
    else if (items !== item) this.slots.set(at, [items, item]);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.resolutionMs);
      this.timer.unref();
    }
    return at;
  }

  /** Unschedules `item` (added with `slot`); nothing when it is not there any more. */
  remove(item: T, slot: number): void {
    const items = this.slots.get(slot);
    if (items === item) {
      this.slots.delete(slot);
    } else if (Array.isArray(items)) {
      const index = items.indexOf(item);
      if (index < 0) return;
      items.splice(index, 1);
      if (items.length === 1) this.slots.set(slot, items[0]!);
    }
  }

  /** Hands out every slot that has ended by now, oldest first. Called by the wheel's timer. */
  tick(): void {
    const dueSlot = Math.floor((this.now() - this.originMs) / this.resolutionMs) - 1;
    for (let slot = this.lastDueSlot + 1; slot <= dueSlot; slot++) {
      const items = this.slots.get(slot);
      // Marked due before the callbacks run, so an item they add lands in a later slot.
      this.lastDueSlot = slot;
      if (items === undefined) continue;
      this.slots.delete(slot);
      if (Array.isArray(items)) for (const item of items) this.onExpire(item);
      else this.onExpire(items);
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
