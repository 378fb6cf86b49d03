/**
 * Key-ordered concurrency within one partition (what Confluent's parallel-consumer calls KEY ordering):
 * records with different keys run concurrently, up to `concurrency` at once; records with the same key run
 * strictly one after the other in offset order. The offset safe to commit is always the lowest offset not yet
 * finished, so a crash redelivers every unfinished record (and possibly some finished ones after it).
 * With `maxBatch` > 1 a key that frees up starts all its waiting records (up to `maxBatch`) as one run.
 * Both bus implementations drive one scheduler per owned partition.
 */
import type { BusRecord } from '../types.js';

/**
 * `done`: the record is finished (handled or dead-lettered) and may be committed.
 * `blocked`: it is not finished and must not be committed (the member is stopping, crashed or lost the
 * partition, or its dead-letter write failed); the scheduler then starts nothing more.
 */
export type KeyedRunOutcome = 'done' | 'blocked';

export interface KeyOrderedSchedulerOptions {
  /** Records in flight at once (>= 1). */
  readonly concurrency: number;
  /** Records accepted but not finished before {@link KeyOrderedScheduler.push} waits. */
  readonly maxBuffered: number;
  /** Consecutive records of one key, in offset order; as many as waited, up to `maxBatch`. */
  readonly run: (records: readonly BusRecord[]) => Promise<KeyedRunOutcome>;
  /** Records of one key started together at most. @default 1 */
  readonly maxBatch?: number;
  /** Called (synchronously) each time the committable offset moves forward. */
  readonly onAdvance?: (nextOffset: string) => void;
}

/** Records buffered per slot of concurrency before `push` applies backpressure. */
export const KEYED_BUFFER_PER_SLOT = 64;

/** Records with a null key share one lane: they keep their relative order, like one key. */
const NULL_KEY_LANE = '\u0000null';

interface Entry {
  readonly offset: bigint;
  done: boolean;
}

export class KeyOrderedScheduler {
  /** Accepted, unfinished records per key, head first; the head is running or waiting for a slot. */
  private readonly lanes = new Map<string, BusRecord[]>();
  /** Keys whose head waits for a slot, in the order they became ready. */
  private readonly ready: string[] = [];
  /** Every accepted record in offset order until it and all before it are done. */
  private readonly window: Entry[] = [];
  private readonly entries = new Map<string, Entry>();
  private windowHead = 0;
  private inFlight = 0;
  private lastAccepted: bigint | undefined;
  private isHalted = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly options: KeyOrderedSchedulerOptions) {}

  /** Whether the scheduler stopped starting records (halt(), or a record came back `blocked`). */
  get halted(): boolean {
    return this.isHalted;
  }

  /** Records accepted and not finished (running or waiting). */
  get unfinished(): number {
    return this.window.length - this.windowHead;
  }

  /** Stops starting new records; running ones finish. */
  halt(): void {
    this.isHalted = true;
    this.wake();
  }

  /**
   * Accepts the partition's next record (offsets must increase) and starts it when its key is free and a
   * slot is open. Resolves once there is room for another record (or the scheduler halted).
   */
  async push(record: BusRecord): Promise<void> {
    if (this.isHalted) return;
    const offset = BigInt(record.offset);
    const entry: Entry = { offset, done: false };
    this.window.push(entry);
    this.entries.set(record.offset, entry);
    this.lastAccepted = offset;
    const lane = record.key ?? NULL_KEY_LANE;
    const queue = this.lanes.get(lane);
    if (queue) queue.push(record);
    else {
      this.lanes.set(lane, [record]);
      this.ready.push(lane);
    }
    this.pump();
    while (!this.isHalted && this.unfinished >= this.options.maxBuffered) await this.changed();
  }

  /** The offset to commit (lowest unfinished, or last accepted + 1), or undefined before the first record. */
  committableOffset(): string | undefined {
    const head = this.window[this.windowHead];
    if (head) return head.offset.toString();
    return this.lastAccepted === undefined ? undefined : (this.lastAccepted + 1n).toString();
  }

  /** Resolves when nothing runs and either everything accepted finished or the scheduler halted. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 || (!this.isHalted && this.unfinished > 0)) await this.changed();
  }

  /** Resolves when nothing runs any more (after a halt, only running records are waited for). */
  async drained(): Promise<void> {
    while (this.inFlight > 0) await this.changed();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    while (!this.isHalted && this.inFlight < this.options.concurrency && this.ready.length > 0) {
      const lane = this.ready.shift()!;
      this.inFlight++;
      void this.start(lane, this.lanes.get(lane)!.slice(0, this.options.maxBatch ?? 1));
    }
  }

  private async start(lane: string, records: readonly BusRecord[]): Promise<void> {
    let outcome: KeyedRunOutcome;
    try {
      outcome = await this.options.run(records);
    } catch {
      outcome = 'blocked';
    }
    this.inFlight--;
    if (outcome === 'blocked') {
      // The records stay unfinished (so uncommitted) and their key stays blocked behind them.
      this.isHalted = true;
      this.wake();
      return;
    }
    const queue = this.lanes.get(lane)!;
    queue.splice(0, records.length);
    if (queue.length === 0) this.lanes.delete(lane);
    else this.ready.push(lane);
    this.finishAll(records);
    this.pump();
    this.wake();
  }

  private finishAll(records: readonly BusRecord[]): void {
    const before = this.committableOffset();
    let changed = false;
    for (const record of records) {
      const entry = this.entries.get(record.offset);
      if (!entry) continue;
      entry.done = true;
      this.entries.delete(record.offset);
      changed = true;
    }
    if (!changed) return;
    while (this.windowHead < this.window.length && this.window[this.windowHead]!.done) this.windowHead++;
    if (this.windowHead === this.window.length) {
      this.window.length = 0;
      this.windowHead = 0;
    } else if (this.windowHead > 1024 && this.windowHead * 2 > this.window.length) {
      this.window.splice(0, this.windowHead);
      this.windowHead = 0;
    }
    const after = this.committableOffset();
    if (after !== undefined && after !== before) this.options.onAdvance?.(after);
  }
}
