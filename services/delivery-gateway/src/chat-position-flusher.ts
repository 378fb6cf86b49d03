/** Where one device stands in one broadcast chat, waiting to be stored. */
interface PendingPosition {
  seq: number;
  atMs: number;
}

/** Positions flushed at once (store writes and DELIVERED reports in flight). */
const FLUSH_CONCURRENCY = 64;

/**
 * Coalesces the per-chat acks of broadcast chats (`ack.chats`): each device acks a big group's frames every
 * few tens of milliseconds, and storing each ack (a position write and a DELIVERED report, which the
 * receipts service folds into the group's aggregate) would cost as much as the messages themselves. The
 * flusher keeps the highest position per (socket, chat) and writes it at most once per interval; a socket's
 * positions are written at once when it closes. A crash loses at most one interval of positions: the device
 * is then sent those frames again and drops them by chat seq.
 */
export class ChatPositionFlusher<Owner extends object> {
  private pending = new Map<Owner, Map<string, PendingPosition>>();
  private readonly timer: ReturnType<typeof setInterval> | null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    intervalMs: number,
    private readonly write: (owner: Owner, chatId: string, seq: number, atMs: number) => Promise<void>,
  ) {
    this.timer =
      intervalMs > 0
        ? setInterval(() => {
            void this.flush();
          }, intervalMs)
        : null;
    this.timer?.unref();
  }

  /** Positions waiting to be written. */
  get size(): number {
    let count = 0;
    for (const chats of this.pending.values()) count += chats.size;
    return count;
  }

  /** Records an acked position; with no interval it is written at once. */
  note(owner: Owner, chatId: string, seq: number, atMs: number): Promise<void> {
    if (this.timer === null) return this.write(owner, chatId, seq, atMs);
    let chats = this.pending.get(owner);
    if (chats === undefined) this.pending.set(owner, (chats = new Map()));
    const current = chats.get(chatId);
    if (current === undefined) chats.set(chatId, { seq, atMs });
    else if (seq > current.seq) {
      current.seq = seq;
      current.atMs = atMs;
    }
    return Promise.resolve();
  }

  /** Writes one owner's positions now (its socket closed). */
  flushOwner(owner: Owner): Promise<void> {
    const chats = this.pending.get(owner);
    if (chats === undefined) return Promise.resolve();
    this.pending.delete(owner);
    return this.writeAll([[owner, chats]]);
  }

  /** Writes every waiting position (each interval, and at stop). */
  flush(): Promise<void> {
    if (this.pending.size === 0) return this.running;
    const batch = [...this.pending];
    this.pending = new Map();
    // One flush after the other: a position is never written behind an older one of the same device.
    this.running = this.running.then(() => this.writeAll(batch));
    return this.running;
  }

  /** Stops the timer and writes what waits. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.flush();
  }

  private async writeAll(batch: ReadonlyArray<readonly [Owner, Map<string, PendingPosition>]>): Promise<void> {
    const jobs: Array<() => Promise<void>> = [];
    for (const [owner, chats] of batch) {
      for (const [chatId, position] of chats) jobs.push(() => this.write(owner, chatId, position.seq, position.atMs));
    }
    for (let start = 0; start < jobs.length; start += FLUSH_CONCURRENCY) {
      // Between slices, let the event loop run: a big group's flush is ~1,000 writes at once, which would
      // otherwise hold up every socket of the gateway for tens of milliseconds.
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      await Promise.all(jobs.slice(start, start + FLUSH_CONCURRENCY).map((job) => job()));
    }
  }
}
