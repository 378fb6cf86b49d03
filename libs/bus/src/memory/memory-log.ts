/**
 * The memory bus's storage: topics as arrays of partitions, each an append-only array of records whose
 * index is the offset. Nothing is ever deleted (embedded mode is documented as not durable nor bounded).
 */
import type { BusRecord, TopicSpec } from '../types.js';

/** One partition: its records and the workers waiting for the next append. */
export class MemoryPartition {
  readonly records: BusRecord[] = [];
  private readonly waiters = new Set<() => void>();

  /** Resolves at the next append (or when `wake` is called), never synchronously. */
  nextAppend(): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    this.waiters.add(wake);
    return { promise, cancel: () => (this.waiters.delete(wake), wake()) };
  }

  /** Wakes every waiting worker once; called once per partition per `send`, not per record. */
  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}

/** A topic: its spec and partitions, plus the round-robin counter for records without a key. */
export class MemoryTopic {
  readonly partitions: MemoryPartition[];
  roundRobin = 0;

  constructor(readonly spec: TopicSpec) {
    this.partitions = Array.from({ length: spec.partitions }, () => new MemoryPartition());
  }
}
