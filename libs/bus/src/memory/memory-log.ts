/**
 * The memory bus's storage: topics as arrays of partitions, each a window of records whose offsets start at its
 * low watermark. Like Kafka, a partition keeps records up to a size and an age ({@link MemoryRetention}) and drops
 * the oldest past either; a consumer whose position fell below the low watermark is reset by its offset reset
 * policy, as Kafka resets an out-of-range offset.
 */
import type { BusRecord, TopicSpec } from '../types.js';

/** How much a partition keeps (Kafka's `retention.bytes` per partition and `retention.ms`). */
export interface MemoryRetention {
  /** Bytes of keys, values and headers kept per partition; the oldest records go past it. */
  readonly maxBytes: number;
  /** Records older than this are dropped (checked at each append, as Kafka deletes lazily). */
  readonly maxAgeMs: number;
}

/** Items dropped from the front of a partition's array before it is compacted (so trimming is amortised O(1)). */
const COMPACT_AFTER = 1024;

/** Bytes a record holds, as retention counts them. */
function sizeOf(record: BusRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers)) bytes += name.length + value.length;
  return bytes;
}

/** One partition: its retained records and the workers waiting for the next append. */
export class MemoryPartition {
  /** Retained records from index {@link start} on; earlier indexes were dropped and await compaction. */
  private items: BusRecord[] = [];
  private start = 0;
  private lowOffset = 0;
  private bytes = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly retention: MemoryRetention | null = null) {}

  /** The offset of the oldest retained record (Kafka's low watermark). */
  get low(): number {
    return this.lowOffset;
  }

  /** The offset the next record gets (Kafka's high watermark). */
  get high(): number {
    return this.lowOffset + this.items.length - this.start;
  }

  /** The record at `offset`, or undefined when it was dropped by retention or is not written yet. */
  at(offset: number): BusRecord | undefined {
    if (offset < this.lowOffset) return undefined;
    return this.items[this.start + offset - this.lowOffset];
  }

  /** Appends a record (its offset is {@link high} before the call), then drops what retention no longer keeps. */
  append(record: BusRecord): void {
    this.items.push(record);
    this.bytes += sizeOf(record);
    if (this.retention !== null) this.trim(this.retention, record.timestampMs);
  }

  private trim(retention: MemoryRetention, nowMs: number): void {
    // The newest record always stays (Kafka never deletes the active segment's last record either).
    while (this.items.length - this.start > 1) {
      const oldest = this.items[this.start]!;
      if (this.bytes <= retention.maxBytes && nowMs - oldest.timestampMs <= retention.maxAgeMs) break;
      this.bytes -= sizeOf(oldest);
      this.start++;
      this.lowOffset++;
    }
    if (this.start >= COMPACT_AFTER && this.start * 2 >= this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

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

  constructor(
    readonly spec: TopicSpec,
    retention: MemoryRetention | null = null,
  ) {
    this.partitions = Array.from({ length: spec.partitions }, () => new MemoryPartition(retention));
  }
}
