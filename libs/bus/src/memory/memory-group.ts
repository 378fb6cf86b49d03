/**
 * Consumer groups of the memory bus: committed offsets, members, round-robin assignment and rebalancing
 * with Kafka's guarantees. A partition has at most one live owner at a time: a rebalance first revokes
 * (the owner finishes and commits its in-flight record), then assigns, and the new owner resumes from the
 * committed offset. A crashed member is dropped at once and commits nothing, so its uncommitted records are
 * redelivered (at-least-once).
 */
import { BusError } from '../errors.js';
import { KEYED_BUFFER_PER_SLOT, KeyOrderedScheduler } from '../internal/key-ordered.js';
import { processBatch, processRecord, type StagedOutput } from '../internal/record-processor.js';
import { Semaphore } from '../internal/semaphore.js';
import type { CompiledSubscribeOptions } from '../internal/subscribe-options.js';
import type { BusInstrumentation, OutgoingRecord, Subscription } from '../types.js';
import type { MemoryPartition, MemoryTopic } from './memory-log.js';

/** What a group needs from its bus. */
export interface MemoryGroupDeps {
  readonly topic: (name: string) => MemoryTopic | undefined;
  readonly produce: (topic: string, record: OutgoingRecord) => Promise<void>;
  readonly instrumentation: BusInstrumentation | undefined;
  /** How long a rebalance waits for revoked partitions' in-flight records before dropping their owner. */
  readonly rebalanceTimeoutMs: number;
  /** Pause before redelivering a record whose dead-lettering failed. */
  readonly deadLetterFailureBackoffMs: number;
}

/** Records processed back to back before a worker yields to the event loop (so timers and I/O still run). */
const YIELD_EVERY_RECORDS = 64;

type PartitionKey = string;
const keyOf = (topic: string, partition: number): PartitionKey => `${topic}\u0000${partition}`;

export class MemoryGroup {
  /** Next offset to consume per partition, as Kafka commits it (last processed + 1). */
  readonly committed = new Map<PartitionKey, number>();
  readonly members = new Map<string, MemoryMember>();
  private queued: Promise<void> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private memberCounter = 0;

  constructor(
    readonly groupId: string,
    readonly deps: MemoryGroupDeps,
  ) {}

  /** Adds a member and rebalances; the member's `ready` resolves after its first assignment. */
  join(options: CompiledSubscribeOptions): MemoryMember {
    const memberId = `${this.groupId}-${++this.memberCounter}-${Math.random().toString(36).slice(2, 8)}`;
    const member = new MemoryMember(this, memberId, options);
    this.members.set(memberId, member);
    void this.requestRebalance();
    return member;
  }

  hasLiveMembers(): boolean {
    return [...this.members.values()].some((member) => member.isLive());
  }

  committedOffset(topic: string, partition: number): number | undefined {
    return this.committed.get(keyOf(topic, partition));
  }

  setCommitted(topic: string, partition: number, offset: number): void {
    this.committed.set(keyOf(topic, partition), offset);
    const onLag = this.deps.instrumentation?.onLag;
    if (onLag) {
      const high = this.deps.topic(topic)?.partitions[partition]?.high ?? offset;
      onLag({ groupId: this.groupId, topic, partition, lag: Math.max(0, high - offset) });
    }
  }

  /** Coalesces join/leave events: at most one rebalance runs and at most one more is queued. */
  requestRebalance(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.chain.then(() => {
      this.queued = null;
      return this.rebalance();
    });
    this.queued = next;
    this.chain = next.catch(() => undefined);
    return next;
  }

  remove(member: MemoryMember): void {
    this.members.delete(member.memberId);
  }

  private async rebalance(): Promise<void> {
    const live = [...this.members.values()].filter((member) => member.isLive());
    const desired = this.assign(live);

    // Revoke first, and wait: a partition must never have two live owners (Kafka's eager protocol gives the
    // same guarantee; we only revoke what moves, as the cooperative protocol does).
    const revocations: Array<{ member: MemoryMember; key: PartitionKey; done: Promise<void> }> = [];
    for (const member of live) {
      const wanted = desired.get(member) ?? new Set<PartitionKey>();
      for (const key of member.ownedKeys()) {
        if (!wanted.has(key)) revocations.push({ member, key, done: member.revoke(key) });
      }
    }
    if (revocations.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all(revocations.map((r) => r.done)).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.deps.rebalanceTimeoutMs))),
      ]);
      clearTimeout(timer);
      // Like Kafka's rebalance timeout: an owner that does not let go in time loses the partition
      // without committing, and the next owner redelivers its in-flight record.
      if (timedOut) for (const r of revocations) r.member.kill(r.key);
    }

    for (const member of live) {
      if (!member.isLive()) continue;
      for (const key of desired.get(member) ?? []) {
        if (member.owns(key)) continue;
        const [topic, partitionText] = key.split('\u0000') as [string, string];
        member.startWorker(topic, Number(partitionText));
      }
      member.assigned();
    }
  }

  /** Round-robin over the sorted topic-partitions among the members subscribed to each topic (kafkajs's default). */
  private assign(live: MemoryMember[]): Map<MemoryMember, Set<PartitionKey>> {
    const desired = new Map<MemoryMember, Set<PartitionKey>>(live.map((member) => [member, new Set()]));
    const topics = [...new Set(live.flatMap((member) => member.options.topics))].sort();
    let cursor = 0;
    for (const topic of topics) {
      const eligible = live.filter((member) => member.options.topics.includes(topic));
      const partitionCount = this.deps.topic(topic)?.partitions.length ?? 0;
      for (let partition = 0; partition < partitionCount; partition++) {
        const member = eligible[cursor++ % eligible.length]!;
        desired.get(member)!.add(keyOf(topic, partition));
      }
    }
    return desired;
  }
}

type MemberState = 'running' | 'stopping' | 'stopped' | 'crashed';

/** One member of a group: the {@link Subscription} the memory bus hands out. */
export class MemoryMember implements Subscription {
  readonly ready: Promise<void>;
  readonly groupId: string;
  readonly slots: Semaphore;
  private state: MemberState = 'running';
  private readonly workers = new Map<PartitionKey, PartitionWorker>();
  private resolveReady!: () => void;
  private stopping: Promise<void> | null = null;
  private assignments = 0;

  constructor(
    readonly group: MemoryGroup,
    readonly memberId: string,
    readonly options: CompiledSubscribeOptions,
  ) {
    this.groupId = group.groupId;
    this.slots = new Semaphore(options.partitionsConcurrently);
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  isLive(): boolean {
    return this.state === 'running';
  }

  assignment(): ReadonlyArray<{ topic: string; partition: number }> {
    return [...this.workers.values()].map((worker) => ({ topic: worker.topicName, partition: worker.partition }));
  }

  ownedKeys(): PartitionKey[] {
    return [...this.workers.keys()];
  }

  owns(key: PartitionKey): boolean {
    return this.workers.has(key);
  }

  startWorker(topicName: string, partition: number): void {
    const topic = this.group.deps.topic(topicName);
    if (!topic) return;
    const committed = this.group.committedOffset(topicName, partition);
    const log = topic.partitions[partition]!;
    // No committed offset, or one that retention dropped: auto.offset.reset = earliest (fromBeginning) or latest,
    // resolved now as Kafka does.
    const start =
      committed !== undefined && committed >= log.low ? committed : this.options.fromBeginning ? log.low : log.high;
    // Each new ownership gets its own assignment id: a writer claims its fencing epoch once per id.
    const assignmentId = `${this.memberId}:${++this.assignments}`;
    this.workers.set(
      keyOf(topicName, partition),
      new PartitionWorker(this, topic, topicName, partition, start, assignmentId),
    );
  }

  assigned(): void {
    this.group.deps.instrumentation?.onRebalance?.({
      groupId: this.groupId,
      memberId: this.memberId,
      assigned: this.assignment(),
    });
    this.resolveReady();
  }

  /** Graceful release of one partition: the in-flight record finishes and is committed. */
  async revoke(key: PartitionKey): Promise<void> {
    const worker = this.workers.get(key);
    if (!worker) return;
    await worker.stop();
    this.workers.delete(key);
  }

  /** Drops one partition without committing anything more (rebalance timeout). */
  kill(key: PartitionKey): void {
    this.workers.get(key)?.kill();
    this.workers.delete(key);
  }

  stop(): Promise<void> {
    if (this.state === 'crashed' || this.state === 'stopped') return Promise.resolve();
    this.stopping ??= (async () => {
      this.state = 'stopping';
      await Promise.all([...this.workers.values()].map((worker) => worker.stop()));
      this.workers.clear();
      this.state = 'stopped';
      this.group.remove(this);
      this.resolveReady();
      await this.group.requestRebalance();
    })();
    return this.stopping;
  }

  async crash(): Promise<void> {
    if (this.state === 'crashed' || this.state === 'stopped') return;
    this.state = 'crashed';
    for (const worker of this.workers.values()) worker.kill();
    this.workers.clear();
    this.group.remove(this);
    this.resolveReady();
    await this.group.requestRebalance();
  }
}

type WorkerState = 'running' | 'stopping' | 'dead';

/** Delivers one partition's records in order to one member, committing after each handled record. */
class PartitionWorker {
  private state: WorkerState = 'running';
  private readonly controller = new AbortController();
  private cancelWait: (() => void) | null = null;
  private readonly done: Promise<void>;

  constructor(
    private readonly member: MemoryMember,
    private readonly topic: MemoryTopic,
    readonly topicName: string,
    readonly partition: number,
    private position: number,
    private readonly assignmentId: string,
  ) {
    const { options } = member;
    this.done = options.keyOrdered ? this.runByKey() : this.run();
  }

  /** Stops after the in-flight record, which is still committed if its handler resolves. */
  stop(): Promise<void> {
    if (this.state === 'running') this.state = 'stopping';
    this.controller.abort();
    this.cancelWait?.();
    return this.done;
  }

  /**
   * A position that retention dropped (the consumer fell behind it) is reset as Kafka resets an out-of-range
   * offset: to the oldest retained record with `fromBeginning` (auto.offset.reset = earliest), else to the end.
   */
  private skipDropped(partition: MemoryPartition): void {
    if (this.position >= partition.low) return;
    const from = this.position;
    this.position = this.member.options.fromBeginning ? partition.low : partition.high;
    this.member.group.deps.instrumentation?.onOffsetReset?.({
      groupId: this.member.groupId,
      topic: this.topicName,
      partition: this.partition,
      from,
      to: this.position,
    });
  }

  /** A killed worker (its partition moved on while it was stuck) is the memory bus's zombie. */
  async confirmOwnership(): Promise<void> {
    if (this.state === 'dead') {
      throw new BusError(
        'CM_ERR_BUS_PRODUCER_FENCED',
        `${this.topicName}[${this.partition}] has a newer owner than ${this.assignmentId}`,
        { context: { topic: this.topicName, partition: this.partition } },
      );
    }
  }

  /** Dies at once: whatever is in flight is never committed. */
  kill(): void {
    this.state = 'dead';
    this.controller.abort();
    this.cancelWait?.();
  }

  /**
   * Key-ordered concurrency: up to keyConcurrency records of different keys at once, one key strictly in order;
   * the committed offset follows the lowest unfinished record as records finish. The worker holds one of the
   * member's partition slots while it has unfinished records.
   */
  private async runByKey(): Promise<void> {
    const { group, options } = this.member;
    const partition = this.topic.partitions[this.partition]!;
    const deps = {
      signal: this.controller.signal,
      produce: group.deps.produce,
      instrumentation: group.deps.instrumentation,
      assignmentId: this.assignmentId,
    };
    // Transactional: each finished record's outputs wait here until the committed offset passes it.
    const staged = new Map<bigint, StagedOutput[]>();
    const publishStaged = (next: bigint): void => {
      const ready = [...staged.keys()].filter((offset) => offset < next).sort((a, b) => (a < b ? -1 : 1));
      for (const offset of ready) {
        for (const output of staged.get(offset)!) {
          // The memory bus appends synchronously at the call, so outputs land in offset order before the commit.
          for (const record of output.records) void group.deps.produce(output.topic, record).catch(() => undefined);
        }
        staged.delete(offset);
      }
    };
    const scheduler = new KeyOrderedScheduler({
      concurrency: options.keyConcurrency,
      maxBuffered: options.keyConcurrency * KEYED_BUFFER_PER_SLOT,
      maxBatch: options.maxBatchPerKey,
      run: async (records) => {
        for (;;) {
          if (this.state !== 'running') return 'blocked';
          let outcome;
          const outputs: StagedOutput[] | undefined = options.transactional ? [] : undefined;
          try {
            outcome = await processBatch(
              records,
              options,
              outputs ? { ...deps, staged: outputs, confirmOwnership: () => this.confirmOwnership() } : deps,
            );
            if (outputs && outcome !== 'abandoned') staged.set(BigInt(records[records.length - 1]!.offset), outputs);
          } catch {
            // The dead-letter write failed: this key waits and tries the record again; other keys go on.
            await new Promise((resolve) => setTimeout(resolve, group.deps.deadLetterFailureBackoffMs));
            continue;
          }
          // A crashed member must not commit, even if its handler finished after the crash.
          return (this.state as WorkerState) === 'dead' || outcome === 'abandoned' ? 'blocked' : 'done';
        }
      },
      onAdvance: (next) => {
        // A dead (fenced) worker publishes and commits nothing: its staged outputs die with it.
        if (this.state === 'dead') return;
        if (options.transactional) publishStaged(BigInt(next));
        group.setCommitted(this.topicName, this.partition, Number(next));
      },
    });
    let release: (() => void) | null = null;
    let sinceYield = 0;
    try {
      while (this.state === 'running' && !scheduler.halted) {
        this.skipDropped(partition);
        if (this.position >= partition.high) {
          if (scheduler.unfinished === 0 && release) {
            release();
            release = null;
          }
          const wait = partition.nextAppend();
          this.cancelWait = wait.cancel;
          // Also wake when the last unfinished record finishes, to give the partition slot back.
          await (scheduler.unfinished === 0 ? wait.promise : Promise.race([wait.promise, scheduler.idle()]));
          wait.cancel();
          this.cancelWait = null;
          continue;
        }
        release ??= await this.member.slots.acquire();
        if (this.state !== 'running') break;
        const next = partition.at(this.position);
        // Dropped by retention while this worker waited for a slot: reset, as above.
        if (next === undefined) continue;
        await scheduler.push(next);
        this.position++;
        if (++sinceYield >= YIELD_EVERY_RECORDS) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      // Stopping or revoked: start nothing more, let what runs finish (and commit), then let go.
      scheduler.halt();
      if (this.state !== 'dead') await scheduler.drained();
    } finally {
      release?.();
    }
  }

  private async run(): Promise<void> {
    const { group, options } = this.member;
    const partition = this.topic.partitions[this.partition]!;
    const deps = {
      signal: this.controller.signal,
      produce: group.deps.produce,
      instrumentation: group.deps.instrumentation,
      assignmentId: this.assignmentId,
    };
    let sinceYield = 0;
    while (this.state === 'running') {
      this.skipDropped(partition);
      if (this.position >= partition.high) {
        const wait = partition.nextAppend();
        this.cancelWait = wait.cancel;
        await wait.promise;
        this.cancelWait = null;
        continue;
      }
      const release = await this.member.slots.acquire();
      try {
        if (this.state !== 'running') break;
        const record = partition.at(this.position);
        // Dropped by retention while this worker waited for a slot: the loop resets the position.
        if (record === undefined) continue;
        let outcome;
        try {
          outcome = await processRecord(record, options, deps);
        } catch {
          // The dead-letter write failed: keep the offset uncommitted and try the record again later,
          // never skip it (the error is visible through onHandled/logs of the encoder and produce path).
          release();
          await new Promise((resolve) => setTimeout(resolve, group.deps.deadLetterFailureBackoffMs));
          continue;
        }
        // A crashed member must not commit, even if its handler finished after the crash.
        if ((this.state as WorkerState) === 'dead' || outcome === 'abandoned') break;
        this.position++;
        group.setCommitted(this.topicName, this.partition, this.position);
      } finally {
        release();
      }
      if (++sinceYield >= YIELD_EVERY_RECORDS) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }
}
