/**
 * The bus contract: topics with partitions, keyed records, consumer groups with committed offsets,
 * at-least-once delivery, per-partition order, rebalancing, retries and a dead-letter twin per topic.
 * Values are bytes; typing (Avro, Confluent framing) is layered on top by @chatmesh/runtime.
 * Both implementations (in-process and kafkajs) must pass the same contract suite.
 */
import type { RetryPolicyOptions } from '@chatmesh/errors';

/** A topic as the project declares it; topics are created explicitly, never auto-created. */
export interface TopicSpec {
  readonly name: string;
  /** Number of partitions; keys map to partitions with murmur2 exactly as kafkajs's default partitioner. */
  readonly partitions: number;
  /** @default 'delete' */
  readonly cleanupPolicy?: 'delete' | 'compact';
  /** Retention in milliseconds for `delete` topics. @default the broker's (7 days) */
  readonly retentionMs?: number;
  /**
   * Also create the dead-letter twin `${name}.dlq` with the same partitions and configs (never for a
   * topic whose name already ends in `.dlq`). Turn off for topics nobody consumes with a handler (`_schemas`).
   * @default true
   */
  readonly deadLetter?: boolean;
}

/** A record to produce. */
export interface OutgoingRecord {
  /** The partitioning key (chatId or userId as a plain string); null spreads records round-robin. */
  readonly key: string | null;
  /** The body; null is a tombstone on compacted topics. */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** Explicit partition, overriding the key's. Rarely needed (the registry's single partition). */
  readonly partition?: number;
}

/** Where a produced record landed. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** Offsets are decimal strings, as in kafkajs (they may exceed 2^53). */
  readonly offset: string;
}

/** A consumed record. */
export interface BusRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Broker or bus append time, epoch milliseconds. */
  readonly timestampMs: number;
}

/** What a handler sees besides the record. */
export interface HandlerContext {
  /** 1 for the first try, then 2, 3... while the bus retries this record. */
  readonly attempt: number;
  /**
   * Aborted when the member stops or crashes (and on the memory bus when a rebalance moves the partition away);
   * long handlers should give up early: a handler that throws after the abort is neither retried nor
   * dead-lettered, and the record is redelivered. One that resolves anyway is committed (unless crashed).
   */
  readonly signal: AbortSignal;
  /** The consumer group this delivery belongs to. */
  readonly groupId: string;
  /**
   * Identifies one ownership of the record's partition by this member: it differs between partitions and changes
   * every time the partition is given to the member again (a new group generation on Kafka, a new worker on the
   * memory bus); it is the same for every record of one ownership. A single writer that fences
   * zombies claims its writer epoch once per value (see `transactional`).
   */
  readonly assignmentId: string;
  /**
   * Transactional subscriptions only (`transactional: true`), undefined otherwise: stages records to produce.
   * They become visible only while this member still owns the partition, before the record's offset is committed:
   * a member that lost the partition (a zombie: paused past its session, then resumed) is fenced and its staged
   * records are discarded, and so are those of a failed attempt that is retried. A crash between the two makes
   * them appear again when the record is redone (at-least-once, as for any output). Use it instead of the shared
   * producer for every output that must not outlive a fenced writer.
   */
  readonly produce?: (topic: string, records: readonly OutgoingRecord[]) => void;
  /**
   * Transactional subscriptions only: resolves if, at the time of the call, no newer owner of the record's
   * partition has fenced this member (one round trip to the transaction coordinator on Kafka).
   * A writer that claims an external fencing token (a store epoch) calls it once after each claim: a member
   * that claimed late, after a newer owner had taken over, then learns it is a zombie before writing anything.
   * @throws BusError `CM_ERR_BUS_PRODUCER_FENCED` when this member no longer owns the partition.
   */
  readonly confirmOwnership?: () => Promise<void>;
}

/** Handles one record. Resolving marks it processed (its offset may then be committed); throwing retries it. */
export type RecordHandler = (record: BusRecord, context: HandlerContext) => Promise<void>;

/**
 * Handles consecutive records of one key together (see {@link SubscribeOptions.batchHandler}). Resolving marks them
 * all processed; throwing hands them to the record handler one by one.
 */
export type BatchHandler = (records: readonly BusRecord[], context: HandlerContext) => Promise<void>;

/** What goes to the dead-letter twin when a record keeps failing (the Avro DeadLetter record's fields). */
export interface DeadLetterEnvelope {
  readonly originalTopic: string;
  readonly originalPartition: number;
  readonly originalOffset: string;
  readonly originalKey: string | null;
  /** The original bytes, untouched, so the record can be replayed after a fix. */
  readonly originalValue: Buffer | null;
  readonly originalHeaders: Readonly<Record<string, string>>;
  readonly originalTimestampMs: number;
  readonly groupId: string;
  /** Machine-readable code of the last failure (a CM_ERR_* code, or CM_ERR_BUS_HANDLER_FAILED for foreign errors). */
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly attempts: number;
  readonly failedAtMs: number;
}

/** Dead-letter settings of a subscription. */
export interface DeadLetterOptions {
  /**
   * Serialises the envelope (the runtime passes the Avro DeadLetter codec).
   * Required: a failing record is never dropped silently.
   */
  readonly encode: (envelope: DeadLetterEnvelope) => Promise<Buffer>;
  /** The twin's name. @default `${topic}.dlq` */
  readonly topicFor?: (topic: string) => string;
  /**
   * Called once when a record is dead-lettered: records it hands to `produce` go out with the dead letter (in the same
   * transaction on transactional subscriptions). For a last word to whoever waits on the record, e.g. ingest telling
   * the sending device that its command failed, so it retries instead of waiting. A throw is swallowed: the dead
   * letter must still be written.
   */
  readonly lastWords?: (
    record: BusRecord,
    error: unknown,
    produce: (topic: string, records: readonly OutgoingRecord[]) => void,
  ) => Promise<void>;
}

/** Events a bus reports, so @chatmesh/runtime can turn them into metrics without the bus knowing prom-client. */
export interface BusInstrumentation {
  onProduced?(event: { topic: string; records: number }): void;
  onHandled?(event: {
    groupId: string;
    topic: string;
    partition: number;
    durationMs: number;
    /**
     * From the record's timestamp (when it was produced) to the start of its first attempt: the hop's queueing,
     * fetch and transaction-visibility time. Reported with the first outcome of a record only.
     */
    delayMs?: number;
    outcome: 'ok' | 'retry' | 'dead-lettered';
    errorCode?: string;
  }): void;
  /** Records not yet consumed by the group in one partition (high watermark minus committed/position). */
  onLag?(event: { groupId: string; topic: string; partition: number; lag: number }): void;
  onRebalance?(event: {
    groupId: string;
    memberId: string;
    assigned: ReadonlyArray<{ topic: string; partition: number }>;
  }): void;
  /**
   * A consumer's position fell below what the partition retains and was reset by its offset reset policy
   * (records between `from` and `to` were never handled). Reported by the memory bus, whose retention is bounded.
   */
  onOffsetReset?(event: { groupId: string; topic: string; partition: number; from: number; to: number }): void;
}

/** Options of {@link Bus.subscribe}. */
export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handler: RecordHandler;
  /** A group with no committed offset starts at the earliest record (true) or only new ones (false). @default true */
  readonly fromBeginning?: boolean;
  /** Retries of one record before it goes to the dead-letter twin. Only retriable errors are retried
   *  beyond the first attempt when `retryAll` is false. @default { maxAttempts: 5, initialDelayMs: 100 } */
  readonly retry?: RetryPolicyOptions;
  /** Retry any error, not only those marked retriable. Handlers usually throw foreign errors on transient
   *  faults (a driver timeout), so the default is true; decode errors are never retried. @default true */
  readonly retryAll?: boolean;
  readonly deadLetter: DeadLetterOptions;
  /** How many partitions this member processes at once; order holds within each partition. @default 1 */
  readonly partitionsConcurrently?: number;
  /**
   * Key-ordered concurrency: within one partition, up to this many records with different keys are handled at
   * once, while records with the same key (null keys count as one key) stay strictly in offset order. The
   * committed offset is always the lowest one not yet finished, so a crash redelivers every unfinished record
   * and possibly some finished ones after it (handlers must be idempotent). A record being retried blocks only its
   * key. 1 keeps strict per-partition order. On Kafka, commits go out behind the handlers (one OffsetCommit in
   * flight per member, carrying every partition's latest finished offset) and are flushed before a partition is
   * handed over. @default 1
   */
  readonly keyConcurrency?: number;
  /**
   * Consume-transform-produce with fencing: handlers stage their outputs with {@link HandlerContext.produce}; the
   * bus publishes them as records finish, then commits the offsets behind them (Kafka: transactions on a
   * transactional producer per input partition, id `<group>|<topic>|<partition>`, run one after the other behind
   * the batches, each holding everything finished since the last; the member that takes a partition over
   * initialises that producer before handling anything, which fences the previous owner's; consumers of the
   * outputs read committed records only). A zombie can then neither publish nor commit. Dead letters are staged
   * the same way. Always key-ordered (keyConcurrency, default 1). The memory bus publishes a record's outputs
   * when its offset is committed and drops a killed worker's. @default false
   */
  readonly transactional?: boolean;
  /**
   * Batches per key (the subscription is then key-ordered even with keyConcurrency 1): when a key frees up, the
   * records of that key already waiting behind it (consecutive in the key's order, up to `maxBatchPerKey`) go to this
   * handler together, so a busy key (a chat in ingest, a user's inbox in fan-out) costs one store round trip and one
   * staged output per batch instead of per record. Batches form only where records wait, i.e. under load; a quiet
   * key gets batches of one. One attempt per batch: if it throws, its records go to `handler` one by one, each with
   * its retries and dead-letter twin, so a poison record never takes its neighbours along. A failed batch may have
   * done part of its work (handlers are idempotent anyway); the outputs it staged are dropped. Optional.
   */
  readonly batchHandler?: BatchHandler;
  /** Records one batch holds at most (with `batchHandler`). @default 64 */
  readonly maxBatchPerKey?: number;
}

/** A running group member. */
export interface Subscription {
  readonly groupId: string;
  /** Resolves once the member has joined the group and received its first assignment. */
  readonly ready: Promise<void>;
  /** The partitions this member currently owns. */
  assignment(): ReadonlyArray<{ topic: string; partition: number }>;
  /** Graceful: stop fetching, let the in-flight record finish, commit, leave the group. */
  stop(): Promise<void>;
  /**
   * Test hook: die like a killed process. In-flight and uncommitted records are not committed and are
   * redelivered to whichever member owns the partition next.
   */
  crash(): Promise<void>;
}

/** Produces records; one shared idempotent producer per bus. */
export interface BusProducer {
  /** Appends records to a topic; resolves when durable (acks=all on Kafka). */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordMetadata[]>;
}

/** Administrative operations the services, tools and tests need. */
export interface BusAdmin {
  /** Creates topics that do not exist yet; existing ones are left as they are. */
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Partition count of a topic. @throws ChatmeshError CM_ERR_BUS_UNKNOWN_TOPIC */
  partitionCount(topic: string): Promise<number>;
  /** Low and high watermarks per partition. */
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; low: string; high: string }>>;
  /** Committed offsets of a group for a topic (-1 where nothing is committed). */
  fetchCommittedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>>;
  /** Moves a group's committed offsets (the group must have no running members), e.g. to replay. */
  resetCommittedOffsets(
    groupId: string,
    topic: string,
    to: 'earliest' | 'latest' | ReadonlyArray<{ partition: number; offset: string }>,
  ): Promise<void>;
}

/** The bus: one interface, two implementations (`createMemoryBus`, `createKafkaBus`). */
export interface Bus {
  readonly kind: 'memory' | 'kafka';
  readonly admin: BusAdmin;
  readonly producer: BusProducer;
  /** Joins `groupId` and starts handling records. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** The partition a key maps to, as kafkajs's default (murmur2) partitioner computes it. */
  partitionForKey(key: string, partitionCount: number): number;
  /** Stops every subscription gracefully and closes connections. */
  close(): Promise<void>;
}
