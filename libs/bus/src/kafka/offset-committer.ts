/**
 * Offset commits of one Kafka group member, made behind its handlers instead of in their way.
 *
 * Why: kafkajs fetches a broker's partitions in one request, hands the batches to its workers and fetches again
 * only once every batch returned. Kafka 4's group coordinator answers an OffsetCommit only after
 * `group.coordinator.append.linger.ms` (5 ms by default), and a broker serves one request per connection at a
 * time, so a commit awaited at the end of each batch (or after each record) costs ~6 ms per non-empty partition
 * per fetch: with 12 partitions one hop took 50-70 ms at p50 instead of ~2 ms.
 *
 * How: a batch marks the next offset of its partition once the records below it are finished (at-least-once
 * needs nothing more: an offset is never marked before its handler finished) and carries on. One OffsetCommit is
 * in flight at a time; it carries the latest mark of every partition made since the previous one, so the cost is
 * one round trip per ~6 ms for the whole member, off the hop's path. {@link OffsetCommitter.flush} waits until
 * every mark made before it is committed (or failed); the subscription flushes before kafkajs may hand a
 * partition to another member (stop, rebalance, a failed batch), so a clean hand-over redelivers nothing.
 */

/** A batch payload's `commitOffsetsIfNecessary(offsets)`: one OffsetCommit of the given offsets, no retry. */
export type CommitOffsets = (offsets: {
  topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
}) => Promise<void>;

export interface OffsetCommitterOptions {
  /** Checked before each request: false (the member crashed) stops committing for good. */
  readonly canCommit: () => boolean;
}

interface Mark {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export class OffsetCommitter {
  private readonly pending = new Map<string, Mark>();
  private commit: CommitOffsets | undefined;
  private draining: Promise<void> | null = null;
  /** Marks made so far, and how many of them a finished request covered (committed or failed). */
  private marked = 0;
  private settled = 0;
  private waiters: Array<{ upTo: number; resolve: () => void }> = [];
  /** Bumped by {@link discardPending}: a request sent before then reports no failure after it. */
  private epoch = 0;
  private failure: unknown;

  constructor(private readonly options: OffsetCommitterOptions) {}

  /**
   * Records that every record of `topic`/`partition` below `nextOffset` is finished; a commit carries it soon.
   * `commit` is the batch payload's `commitOffsetsIfNecessary` (the same consumer group for every batch).
   */
  mark(commit: CommitOffsets, topic: string, partition: number, nextOffset: string): void {
    this.commit = commit;
    this.pending.set(`${topic}\u0000${partition}`, { topic, partition, offset: nextOffset });
    this.marked++;
    this.draining ??= this.drain();
  }

  /** Resolves once every mark made before the call is committed, failed, or discarded. */
  flush(): Promise<void> {
    const upTo = this.marked;
    if (this.settled >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ upTo, resolve }));
  }

  /**
   * Forgets marks not sent yet and failures seen so far: after a rejoin (a new generation) they may name
   * partitions another member owns now, whose offsets they would move back.
   */
  discardPending(): void {
    this.pending.clear();
    this.epoch++;
    this.failure = undefined;
    if (!this.draining) this.settle(this.marked);
  }

  /** The first commit failure since the last call (a rebalance answered it, or the coordinator moved), if any. */
  takeFailure(): unknown {
    const failure = this.failure;
    this.failure = undefined;
    return failure;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0 && this.options.canCommit()) {
        const covers = this.marked;
        const epoch = this.epoch;
        const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
        for (const { topic, partition, offset } of this.pending.values()) {
          const partitions = byTopic.get(topic) ?? [];
          byTopic.set(topic, partitions);
          partitions.push({ partition, offset });
        }
        this.pending.clear();
        try {
          await this.commit!({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
        } catch (error) {
          // Not retried: the next mark of the partition carries a later offset; a lost one means a redelivery.
          if (epoch === this.epoch) this.failure ??= error;
        }
        this.settle(covers);
      }
    } finally {
      this.pending.clear();
      this.draining = null;
      this.settle(this.marked);
    }
  }

  private settle(upTo: number): void {
    if (upTo > this.settled) this.settled = upTo;
    const waiting = this.waiters;
    this.waiters = waiting.filter(({ upTo: needed }) => needed > this.settled);
    for (const waiter of waiting) if (waiter.upTo <= this.settled) waiter.resolve();
  }
}
