/** A counting semaphore: bounds how many partitions one member processes at once. */
export class Semaphore {
  private readonly queue: Array<() => void> = [];

  constructor(private available: number) {}

  /** Resolves with a release function once a slot is free. */
  async acquire(): Promise<() => void> {
    if (this.available > 0) {
      this.available--;
    } else {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      // Hand the slot straight to the next waiter so a busy partition cannot starve the others.
      if (next) next();
      else this.available++;
    };
  }
}
