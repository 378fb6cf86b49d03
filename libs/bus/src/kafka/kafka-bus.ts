/**
 * The production bus on kafkajs 2.2.4: one idempotent producer (acks=all, one request in flight, kafkajs's
 * default partitioner), consumer groups that commit only after the handler resolved (offset + 1), per-partition
 * order, retries then the dead-letter twin, and admin operations each proven against Kafka 4.1 by the
 * contract suite (KIP-896 removed old protocol versions).
 */
import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  KafkaMessage,
  LogEntry,
  Message,
  Producer,
  Transaction,
} from 'kafkajs';
import { ChatmeshError, compileRetryPolicy, isRetriable, retry } from '@chatmesh/errors';
import { BusError } from '../errors.js';
import { KEYED_BUFFER_PER_SLOT, KeyOrderedScheduler } from '../internal/key-ordered.js';
import { processBatch, processRecord, type StagedOutput } from '../internal/record-processor.js';
import {
  compileSubscribeOptions,
  isDeadLetterTopic,
  type CompiledSubscribeOptions,
} from '../internal/subscribe-options.js';
import { expandTopicSpecs } from '../internal/topic-specs.js';
import { partitionForKey } from '../partitioner.js';
import type { Bus, BusAdmin, BusRecord, OutgoingRecord, RecordMetadata, Subscription, TopicSpec } from '../types.js';
import {
  compileKafkaBusOptions,
  type CompiledKafkaBusOptions,
  type KafkaBusLogEntry,
  type KafkaBusOptions,
} from './kafka-bus-options.js';
import { toBusError } from './kafka-errors.js';
import { OffsetCommitter, type CommitOffsets } from './offset-committer.js';

const { Kafka, Partitioners, logLevel: KafkaLogLevel } = kafkajs;

const LEVELS: Record<KafkaBusLogEntry['level'] | 'nothing', number> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};
const LEVEL_NAMES: Record<number, KafkaBusLogEntry['level']> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** Group states in which no member is running, so offsets may be moved (DescribeGroups). */
const IDLE_GROUP_STATES = new Set(['Empty', 'Dead']);
const ADMIN_RETRY_POLICY = compileRetryPolicy({ maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 2_000 });
/**
 * How long `subscribe` waits for a topic that is not in the metadata yet (about 3 s): on a broker that just
 * started, a topic another process created a moment ago can be unknown to the broker answering for a
 * second or two; a topic nobody created still fails the subscribe soon after.
 */
const TOPIC_SETTLE_POLICY = compileRetryPolicy({ maxAttempts: 6, initialDelayMs: 150, maxDelayMs: 1_000 });

/**
 * Retries what settling metadata makes fail for a moment (retriable errors, and with `unknownTopicToo` a
 * topic not known yet); when the retries run out, the last error is thrown as it was.
 */
function retrySettling<T>(
  fn: () => Promise<T>,
  policy: ReturnType<typeof compileRetryPolicy>,
  unknownTopicToo: boolean,
): Promise<T> {
  return retry(fn, policy, {
    shouldRetry: (error) =>
      isRetriable(error) || (unknownTopicToo && error instanceof BusError && error.code === 'CM_ERR_BUS_UNKNOWN_TOPIC'),
  }).catch((error: unknown) => {
    throw error instanceof ChatmeshError && error.code === 'CM_ERR_RETRY_EXHAUSTED' && error.cause
      ? error.cause
      : error;
  });
}
/** With keyConcurrency > 1: how often the lowest unfinished offset is committed (and a heartbeat sent) mid-batch. */
export const KEYED_COMMIT_INTERVAL_MS = 100;
/** Sends queued while one is in flight go out together up to this many bytes (brokers refuse requests over 1 MiB by default). */
const MAX_COALESCED_BATCH_BYTES = 512 * 1024;

/**
 * Creates a bus on Kafka. Connections open lazily on first use; {@link Bus.close} closes them.
 * @throws BusError `CM_ERR_BUS_INVALID_OPTIONS` on contradictory options.
 */
export function createKafkaBus(raw: KafkaBusOptions): Bus {
  const options = compileKafkaBusOptions(raw);
  const { instrumentation } = options;
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    retry: {
      initialRetryTime: options.retryInitialDelayMs,
      maxRetryTime: options.retryMaxDelayMs,
      retries: options.retries,
    },
    logLevel: LEVELS[options.logLevel],
    ...(options.logger ? { logCreator: () => forwardLogs(options.logger!) } : {}),
  });
  const producer: Producer = kafka.producer({
    // Idempotence needs acks=all and at most one request in flight to keep order across retries (KIP-98).
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const admin: Admin = kafka.admin();
  const subscriptions = new Set<KafkaSubscription>();
  const partitionCounts = new Map<string, { count: number; fetchedAt: number }>();
  const roundRobin = new Map<string, number>();
  let closed = false;

  const connectOnce = <T>(connect: () => Promise<T>): (() => Promise<T>) => {
    let pending: Promise<T> | undefined;
    return () => {
      pending ??= connect().catch((error: unknown) => {
        pending = undefined;
        throw toBusError(error, 'connect');
      });
      return pending;
    };
  };
  const producerReady = connectOnce(() => producer.connect());
  const adminReady = connectOnce(() => admin.connect());

  const assertOpen = (): void => {
    if (closed) throw new BusError('CM_ERR_BUS_CLOSED', 'The Kafka bus is closed');
  };

  const partitionCount = async (topic: string, maxAgeMs = options.metadataMaxAgeMs): Promise<number> => {
    const cached = partitionCounts.get(topic);
    if (cached && Date.now() - cached.fetchedAt < maxAgeMs) return cached.count;
    await adminReady();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = topics[0]?.partitions.length ?? 0;
      if (count === 0)
        throw new BusError('CM_ERR_BUS_UNKNOWN_TOPIC', `Topic "${topic}" does not exist; create it first`, {
          context: { topic },
        });
      partitionCounts.set(topic, { count, fetchedAt: Date.now() });
      return count;
    } catch (error) {
      const mapped = toBusError(error, `fetchTopicMetadata(${topic})`, { topic });
      if (mapped.code === 'CM_ERR_BUS_UNKNOWN_TOPIC') {
        throw new BusError('CM_ERR_BUS_UNKNOWN_TOPIC', `Topic "${topic}" does not exist; create it first`, {
          cause: error,
          context: { topic },
        });
      }
      throw mapped;
    }
  };

  /*
   * One idempotent producer must not run concurrent send() calls: kafkajs then assigns sequence numbers
   * out of order and the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER (kafkajs issues #598, #1005), which
   * can drop records. So sends are queued and flushed one request at a time; what queued up while a
   * request was in flight goes out together in one sendBatch (bounded in bytes), which also gives
   * concurrent handlers a batching effect instead of a lock's serial round trips.
   */
  interface PendingSend {
    readonly topic: string;
    readonly records: readonly OutgoingRecord[];
    readonly partitions: readonly number[];
    readonly bytes: number;
    readonly resolve: (metadata: RecordMetadata[]) => void;
    readonly reject: (error: unknown) => void;
  }
  const sendQueue: PendingSend[] = [];
  let flushing = false;
  const recordBytes = (record: OutgoingRecord): number =>
    (record.value?.length ?? 0) + (record.key === null ? 0 : Buffer.byteLength(record.key)) + 64;

  const enqueueSend = (request: Omit<PendingSend, 'resolve' | 'reject' | 'bytes'>): Promise<RecordMetadata[]> =>
    new Promise((resolve, reject) => {
      const bytes = request.records.reduce((sum, record) => sum + recordBytes(record), 0);
      sendQueue.push({ ...request, bytes, resolve, reject });
      if (!flushing) void flushSends();
    });

  const takeBatch = (): PendingSend[] => {
    const batch: PendingSend[] = [];
    let bytes = 0;
    while (sendQueue.length > 0) {
      const next = sendQueue[0]!;
      if (batch.length > 0 && bytes + next.bytes > MAX_COALESCED_BATCH_BYTES) break;
      batch.push(next);
      bytes += next.bytes;
      sendQueue.shift();
    }
    return batch;
  };

  const sendNow = async (batch: readonly PendingSend[]): Promise<void> => {
    const byTopic = new Map<string, PendingSend[]>();
    for (const request of batch) {
      const list = byTopic.get(request.topic);
      if (list) list.push(request);
      else byTopic.set(request.topic, [request]);
    }
    await producerReady();
    const result = await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, requests]) => ({
        topic,
        messages: requests.flatMap((request) =>
          request.records.map((record, index) => ({
            key: record.key,
            value: record.value,
            headers: record.headers ? { ...record.headers } : undefined,
            partition: record.key === null || record.partition !== undefined ? request.partitions[index] : undefined,
          })),
        ),
      })),
    });
    // Records of one partition are appended in the order they were listed, from its base offset.
    const baseOffsets = new Map(
      result.map((entry) => [`${entry.topicName}\u0000${entry.partition}`, BigInt(entry.baseOffset ?? '0')]),
    );
    const nextIndex = new Map<string, bigint>();
    for (const [topic, requests] of byTopic) {
      for (const request of requests) {
        const metadata = request.partitions.map((partition) => {
          const slot = `${topic}\u0000${partition}`;
          const base = baseOffsets.get(slot);
          if (base === undefined) {
            throw new BusError(
              'CM_ERR_COMMON_INTERNAL',
              `kafkajs placed a record of ${topic} on a partition other than ${partition}`,
              {
                context: { topic, partition },
              },
            );
          }
          const index = nextIndex.get(slot) ?? 0n;
          nextIndex.set(slot, index + 1n);
          return { topic, partition, offset: (base + index).toString() };
        });
        instrumentation?.onProduced?.({ topic, records: request.records.length });
        request.resolve(metadata);
      }
    }
  };

  const flushSends = async (): Promise<void> => {
    flushing = true;
    try {
      while (sendQueue.length > 0) {
        const batch = takeBatch();
        try {
          await sendNow(batch);
        } catch (error) {
          if (batch.length === 1) {
            partitionCounts.delete(batch[0]!.topic);
            batch[0]!.reject(toBusError(error, `produce to ${batch[0]!.topic}`, { topic: batch[0]!.topic }));
            continue;
          }
          // One bad request (too large, unknown topic) must not fail the others it was batched with.
          for (const request of batch) {
            try {
              await sendNow([request]);
            } catch (single) {
              partitionCounts.delete(request.topic);
              request.reject(toBusError(single, `produce to ${request.topic}`, { topic: request.topic }));
            }
          }
        }
      }
    } finally {
      flushing = false;
    }
  };

  const send = async (topic: string, records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> => {
    assertOpen();
    if (records.length === 0) return [];
    const count = await partitionCount(topic);
    // kafkajs reports one base offset per partition, so each record's partition must be known to give it its
    // own offset: keyed records are left to kafkajs's partitioner (we predict the same partition, and the
    // contract suite proves the prediction on a real broker); unkeyed ones are spread here, round-robin.
    const partitions = records.map((record) => {
      if (record.partition !== undefined) {
        if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
          throw new BusError('CM_ERR_BUS_INVALID_PARTITION', `Topic "${topic}" has no partition ${record.partition}`, {
            context: { topic, partition: record.partition },
          });
        }
        return record.partition;
      }
      if (record.key !== null) return partitionForKey(record.key, count);
      const next = roundRobin.get(topic) ?? Math.floor(Math.random() * count);
      roundRobin.set(topic, next + 1);
      return next % count;
    });
    return enqueueSend({ topic, records, partitions });
  };

  const createTopicsOnce = async (specs: readonly TopicSpec[]): Promise<void> => {
    assertOpen();
    await adminReady();
    const wanted = expandTopicSpecs(specs);
    try {
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((spec) => !existing.has(spec.name));
      if (missing.length === 0) return;
      const replicationFactor =
        options.replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length);
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor,
          configEntries: [
            { name: 'cleanup.policy', value: spec.cleanupPolicy ?? 'delete' },
            ...(spec.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(spec.retentionMs) }]),
          ],
        })),
      });
    } catch (error) {
      // Another instance may have created the same topics between our list and create: that is success.
      if (allTopicsExist(error)) return;
      throw toBusError(error, 'createTopics');
    }
  };

  /*
   * Right after a broker starts or a topic is created, metadata is still settling: leaders move
   * (NOT_LEADER) and a new topic may be briefly unknown to the broker answering. Both pass in moments,
   * so admin calls retry them instead of failing a service's start.
   */
  const withAdminRetry = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    retrySettling(fn, ADMIN_RETRY_POLICY, operation === 'createTopics');

  const busAdmin: BusAdmin = {
    createTopics: (specs: readonly TopicSpec[]) => withAdminRetry('createTopics', () => createTopicsOnce(specs)),
    async listTopics(): Promise<string[]> {
      await adminReady();
      try {
        return await admin.listTopics();
      } catch (error) {
        throw toBusError(error, 'listTopics');
      }
    },
    partitionCount: (topic) => partitionCount(topic, 0),
    fetchTopicOffsets: (topic) =>
      withAdminRetry(`fetchTopicOffsets(${topic})`, async () => {
        await partitionCount(topic, 0);
        try {
          return (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low, high }));
        } catch (error) {
          throw toBusError(error, `fetchTopicOffsets(${topic})`, { topic });
        }
      }),
    async fetchCommittedOffsets(groupId, topic) {
      await partitionCount(topic, 0);
      try {
        const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return (entry?.partitions ?? [])
          .map(({ partition, offset }) => ({ partition, offset }))
          .sort((a, b) => a.partition - b.partition);
      } catch (error) {
        throw toBusError(error, `fetchOffsets(${groupId}, ${topic})`, { groupId, topic });
      }
    },
    async resetCommittedOffsets(groupId, topic, to): Promise<void> {
      await partitionCount(topic, 0);
      try {
        const { groups } = await admin.describeGroups([groupId]);
        const state = groups[0]?.state ?? 'Dead';
        if (!IDLE_GROUP_STATES.has(state)) {
          throw new BusError(
            'CM_ERR_BUS_GROUP_ACTIVE',
            `Group "${groupId}" is ${state}; stop its members before resetting offsets`,
            {
              context: { groupId, topic, state },
            },
          );
        }
        // Resolve earliest/latest to real offsets here: kafkajs's resetOffsets would commit the -2/-1 sentinels,
        // which fetchCommittedOffsets would then report instead of a position.
        const partitions =
          to === 'earliest' || to === 'latest'
            ? (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({
                partition,
                offset: to === 'earliest' ? low : high,
              }))
            : to.map(({ partition, offset }) => ({ partition, offset }));
        await admin.setOffsets({ groupId, topic, partitions });
      } catch (error) {
        throw toBusError(error, `resetCommittedOffsets(${groupId}, ${topic})`, { groupId, topic });
      }
    },
  };

  return {
    kind: 'kafka',
    admin: busAdmin,
    producer: { send },
    partitionForKey,
    async subscribe(rawSubscribe) {
      assertOpen();
      const compiled = compileSubscribeOptions(rawSubscribe);
      const settled = (topic: string): Promise<number> =>
        retrySettling(() => partitionCount(topic, 0), TOPIC_SETTLE_POLICY, true);
      for (const topic of compiled.topics) {
        await settled(topic);
        if (!isDeadLetterTopic(topic)) await settled(compiled.deadLetterTopicFor(topic));
      }
      const subscription = new KafkaSubscription(
        kafka.consumer(consumerConfig(compiled.groupId, options)),
        compiled,
        options,
        {
          produce: async (topic, record) => void (await send(topic, [record])),
          onEnd: () => subscriptions.delete(subscription),
          transactionalProducer: (transactionalId) =>
            kafka.producer({
              transactionalId,
              // kafkajs makes the transaction's own producer idempotent; this flag would only add a second producer id.
              idempotent: false,
              maxInFlightRequests: 1,
              allowAutoTopicCreation: false,
              transactionTimeout: TRANSACTION_TIMEOUT_MS,
              createPartitioner: Partitioners.DefaultPartitioner,
              // A transaction begun right after the previous one's EndTxn is often answered CONCURRENT_TRANSACTIONS
              // until the markers are written (a few ms): retry soon, not after the client's 100+ ms backoff.
              retry: { initialRetryTime: 10, maxRetryTime: 1_000, retries: 20 },
            }),
        },
      );
      subscriptions.add(subscription);
      try {
        await subscription.start();
      } catch (error) {
        subscriptions.delete(subscription);
        await subscription.stop().catch(() => undefined);
        throw toBusError(error, `subscribe(${compiled.groupId})`, { groupId: compiled.groupId });
      }
      return subscription;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...subscriptions].map((subscription) => subscription.stop()));
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}

function consumerConfig(groupId: string, options: CompiledKafkaBusOptions) {
  return {
    groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: options.heartbeatIntervalMs,
    rebalanceTimeout: options.rebalanceTimeoutMs,
    maxWaitTimeInMs: options.maxWaitTimeMs,
    allowAutoTopicCreation: false,
    retry: {
      initialRetryTime: options.retryInitialDelayMs,
      maxRetryTime: options.retryMaxDelayMs,
      retries: options.retries,
    },
  };
}

interface SubscriptionDeps {
  readonly produce: (topic: string, record: OutgoingRecord) => Promise<void>;
  readonly onEnd: () => void;
  /** A new, unconnected transactional producer (transactional subscriptions: one per owned input partition). */
  readonly transactionalProducer: (transactionalId: string) => Producer;
}

/** How long the coordinator lets a transaction stay open before aborting it (a dead member's open one). */
const TRANSACTION_TIMEOUT_MS = 30_000;

/** The transactional producer of one owned input partition, for one group generation. */
interface TransactionalSlot {
  readonly producer: Producer;
  /** The join (generation) it was created in: a later join creates a new one, which fences any zombie. */
  readonly join: number;
  /** The open transaction the next commit completes. */
  txn: Transaction;
  /** The partition's offset as last committed through this producer (a confirmation re-commits it). */
  committedOffset: string;
  /** Serialises the transactions of flushes and confirmations: one transaction at a time per producer. */
  queue: Promise<unknown>;
  /** Outputs of finished records not yet in a transaction, in offset order, and the offset after them. */
  queued: StagedOutput[];
  queuedOffset: string | undefined;
  /**
   * The first transaction failure of this generation (fenced, or the broker refused): the slot is broken from then
   * on, and its producer is not replaced before the next generation.
   */
  failure: unknown;
  /** The consumer's commit of this partition's group offsets (a batch payload's). */
  commitOffsets: CommitOffsets | undefined;
  /** Set when the slot is released: nothing may run on its producer any more (see closeSlot). */
  closed?: true;
}

/** Runs `fn` after everything queued on the slot; a failure does not block what comes after it. */
function onSlot<T>(slot: TransactionalSlot, fn: () => Promise<T>): Promise<T> {
  const guarded = (): Promise<T> =>
    slot.closed
      ? Promise.reject(
          new BusError('CM_ERR_BUS_CLOSED', 'the partition was released; its transactional producer is closed'),
        )
      : fn();
  const run = slot.queue.then(guarded, guarded);
  slot.queue = run.catch(() => undefined);
  return run;
}

/** A transactional subscription's work on one partition in one generation (see handleBatchTransactionally). */
interface PartitionRun {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly slot: TransactionalSlot;
  readonly scheduler: KeyOrderedScheduler;
  /** Outputs of finished records whose offset is not yet below the lowest unfinished one. */
  readonly staged: Map<bigint, StagedOutput[]>;
  /** Outputs below this offset are queued on the slot (or committed). */
  queuedUpTo: string;
  /** The end (past transaction markers) of the last batch accepted whole. */
  pendingEnd: string | undefined;
  highWatermark: string;
  failure: unknown;
  /** A newer generation took over, or the run was drained: it starts and flushes nothing more. */
  retired: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** One kafkajs consumer in a group: the {@link Subscription} the Kafka bus hands out. */
class KafkaSubscription implements Subscription {
  readonly groupId: string;
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private current: Array<{ topic: string; partition: number }> = [];
  private readonly controller = new AbortController();
  /** Set by crash(): from then on nothing this member does may commit or resolve an offset. */
  private crashed = false;
  private signalCrash!: () => void;
  private readonly crashSignal: Promise<'crashed'>;
  private ending: Promise<void> | null = null;
  /** Commits offsets behind the handlers, one OffsetCommit in flight for all partitions (see OffsetCommitter). */
  private readonly committer = new OffsetCommitter({ canCommit: () => !this.crashed });
  private stopping = false;
  /** Set once stop() has closed the transactional producers: a slot created after that would leak its connection. */
  private slotsReleased = false;
  /** Group joins so far, and this member's id in the latest: together they make each ownership's assignment id. */
  private joins = 0;
  private memberId = '';
  private readonly transactionalSlots = new Map<string, TransactionalSlot>();
  private readonly runs = new Map<string, PartitionRun>();

  constructor(
    private readonly consumer: Consumer,
    private readonly options: CompiledSubscribeOptions,
    private readonly busOptions: CompiledKafkaBusOptions,
    private readonly deps: SubscriptionDeps,
  ) {
    this.groupId = options.groupId;
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.crashSignal = new Promise((resolve) => (this.signalCrash = () => resolve('crashed')));
  }

  assignment(): ReadonlyArray<{ topic: string; partition: number }> {
    return this.current;
  }

  async start(): Promise<void> {
    const { consumer, options } = this;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.committer.discardPending();
      this.joins++;
      this.memberId = payload.memberId;
      this.current = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      // Records of the previous generation still running are left to the fence: their outputs stay unseen once the
      // partition's producer is initialised again, here or by another member.
      for (const run of [...this.runs.values()]) this.retireRun(run);
      void this.releaseTransactionalSlots(new Set(this.current.map(({ topic, partition }) => `${topic}|${partition}`)));
      this.busOptions.instrumentation?.onRebalance?.({
        groupId: this.groupId,
        memberId: payload.memberId,
        assigned: this.current,
      });
      this.resolveReady();
    });
    // kafkajs handles a batch of nothing but transaction markers or aborted records itself and, with auto-commit
    // off, commits nothing: move the group's offset past them too, or a drained partition would show lag for good.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || this.crashed || this.ending) return;
      this.committer.mark(
        (offsets) =>
          consumer.commitOffsets(
            offsets.topics.flatMap(({ topic, partitions }) => partitions.map((p) => ({ topic, ...p }))),
          ),
        payload.topic,
        payload.partition,
        (BigInt(payload.lastOffset) + 1n).toString(),
      );
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      // Offsets are resolved one by one after each handler; an unresolved tail is fetched again (kafkajs issue #18).
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConcurrently,
      eachBatch: (payload) => this.runBatch(payload),
    });
  }

  /** One ownership of one partition: this member, this join, this partition. */
  private assignmentIdOf(topic: string, partition: number, join = this.joins): string {
    return `${this.memberId}:${join}:${topic}:${partition}`;
  }

  /**
   * One fetched batch, with its offsets committed behind it (see OffsetCommitter): the batch returns without
   * waiting for its commit, so kafkajs's next fetch does not wait for the coordinator. Before kafkajs may hand
   * the partition to another member (the member stops, the batch failed: a rebalance answered a heartbeat) the
   * finished offsets are committed first; a commit that failed meanwhile is thrown here, as before.
   */
  private async runBatch(payload: EachBatchPayload): Promise<void> {
    try {
      await this.handleBatch(payload);
    } catch (error) {
      if (!this.crashed) await this.committer.flush();
      throw error;
    }
    if (this.crashed) return;
    if (this.stopping || !payload.isRunning() || payload.isStale()) await this.committer.flush();
    const failure = this.committer.takeFailure();
    if (failure !== undefined && payload.isRunning()) throw failure;
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    if (this.options.transactional) return this.handleBatchTransactionally(payload);
    if (this.options.keyOrdered) return this.handleBatchByKey(payload);
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    let lastDone: bigint | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.crashed) break;
      const record = toBusRecord(topic, partition, message);
      const outcome = await Promise.race([
        processRecord(record, this.options, {
          signal: this.controller.signal,
          produce: this.deps.produce,
          instrumentation: this.busOptions.instrumentation,
          assignmentId: this.assignmentIdOf(topic, partition),
        }),
        this.crashSignal,
      ]);
      // After a crash, a handler that finishes must not commit: its record belongs to the next owner now.
      if (outcome === 'crashed' || outcome === 'abandoned' || this.crashed) return;
      const next = (BigInt(message.offset) + 1n).toString();
      // Committed behind the handler (runBatch flushes before kafkajs may hand the partition over).
      this.committer.mark(commitOffsetsIfNecessary, topic, partition, next);
      resolveOffset(message.offset);
      lastDone = BigInt(message.offset);
      if (isRunning() && !this.crashed) await heartbeat();
    }
    // Every record done: commit past the control records (transaction markers) that end the batch too.
    if (lastDone !== undefined && lastDone === BigInt(batch.messages[batch.messages.length - 1]!.offset)) {
      const end = endOfBatch(batch);
      if (BigInt(end) > lastDone + 1n) {
        this.committer.mark(commitOffsetsIfNecessary, topic, partition, end);
        resolveOffset(batch.lastOffset());
        lastDone = BigInt(end) - 1n;
      }
    }
    const onLag = this.busOptions.instrumentation?.onLag;
    if (onLag && lastDone !== undefined) {
      const lag = BigInt(batch.highWatermark) - (lastDone + 1n);
      onLag({ groupId: this.groupId, topic, partition, lag: Number(lag < 0n ? 0n : lag) });
    }
  }

  /**
   * Key-ordered concurrency over one fetched batch: records start as their key frees up (up to keyConcurrency
   * at once); every KEYED_COMMIT_INTERVAL_MS and at the end the lowest unfinished offset is marked for the
   * OffsetCommitter (committed behind the batch) and a heartbeat sent. The batch returns only once nothing of it runs any more, so a revoked partition never has
   * work in flight when kafkajs releases it: a rebalance or stop stops starting records, waits for the running
   * ones, commits, then returns (the unfinished tail is fetched again by whoever owns the partition next).
   */
  private async handleBatchByKey(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    let failure: unknown;
    const scheduler = new KeyOrderedScheduler({
      concurrency: this.options.keyConcurrency,
      maxBuffered: this.options.keyConcurrency * KEYED_BUFFER_PER_SLOT,
      maxBatch: this.options.maxBatchPerKey,
      run: async (records) => {
        try {
          const outcome = await Promise.race([
            processBatch(records, this.options, {
              signal: this.controller.signal,
              produce: this.deps.produce,
              instrumentation: this.busOptions.instrumentation,
              assignmentId: this.assignmentIdOf(topic, partition),
            }),
            this.crashSignal,
          ]);
          return outcome === 'crashed' || outcome === 'abandoned' || this.crashed ? 'blocked' : 'done';
        } catch (error) {
          // The dead-letter write failed: leave the record uncommitted; the batch ends and kafkajs fetches it again.
          failure ??= error;
          return 'blocked';
        }
      },
    });
    let committed: string | undefined;
    let commitFailure: unknown;
    let chain: Promise<void> = Promise.resolve();
    let pushedAll = false;
    const flush = (final = false): Promise<void> =>
      (chain = chain
        .then(async () => {
          if (this.crashed) return;
          if (!isRunning() || isStale()) scheduler.halt();
          const next = committableAtEnd(scheduler, final && pushedAll ? endOfBatch(batch) : undefined);
          if (next !== undefined && next !== committed) {
            this.committer.mark(commitOffsetsIfNecessary, topic, partition, next);
            committed = next;
          }
          if (isRunning() && !this.crashed) await heartbeat();
        })
        .catch((error: unknown) => {
          // A rebalance (or a broker error) answers the commit or heartbeat: start nothing more, finish, return.
          commitFailure ??= error;
          scheduler.halt();
        }));
    const timer = setInterval(() => void flush(), KEYED_COMMIT_INTERVAL_MS);
    try {
      pushedAll = await pushBatch(batch, scheduler, () => !isRunning() || isStale() || this.crashed);
      if (!isRunning() || isStale()) scheduler.halt();
      // Everything started returns (a crash releases the wait at once); a stop or rebalance halts the rest.
      await Promise.race([scheduler.idle(), this.crashSignal]);
    } finally {
      clearInterval(timer);
    }
    if (this.crashed) return;
    await flush(true);
    const next = committed;
    // kafkajs fetches the partition again after the last resolved offset: resolve only what is finished.
    if (next !== undefined && BigInt(next) > BigInt(batch.firstOffset() ?? next)) {
      resolveOffset((BigInt(next) - 1n).toString());
    }
    if (failure !== undefined) throw failure;
    if (commitFailure !== undefined && isRunning()) throw commitFailure;
    const onLag = this.busOptions.instrumentation?.onLag;
    if (onLag && next !== undefined) {
      const lag = BigInt(batch.highWatermark) - BigInt(next);
      onLag({ groupId: this.groupId, topic, partition, lag: Number(lag < 0n ? 0n : lag) });
    }
  }

  /**
   * Consume-transform-produce, key-ordered like {@link handleBatchByKey}, but decoupled from kafkajs's fetch loop:
   * the batch's records are handed to the partition's {@link PartitionRun} (one per partition and generation) and
   * the batch returns once they are accepted, not once they are done. kafkajs fetches again only after every batch
   * of a fetch returned, so waiting for the slowest record of the slowest partition made every hop wait a whole
   * cycle (~200 ms on the test box); now a fetch waits only while the run's buffer is full (backpressure).
   *
   * This is safe only because these subscriptions are fenced: after a rebalance the previous generation's records
   * may still be running while the partition's new owner (maybe this member again) starts, and it is the new
   * owner's producer initialisation that makes the old one's outputs invisible (and its store writes lose, for
   * writers that stamp them with an epoch). Non-transactional subscriptions keep waiting for their batches.
   *
   * As records finish (every KEYED_COMMIT_INTERVAL_MS) their staged outputs are queued on the partition's
   * transactional producer, whose transactions run one after the other, each taking everything queued so far (a
   * group commit); once one committed, the consumer offset it covers is committed behind it (OffsetCommitter).
   * Offsets are not part of the transactions: a crash between a transaction and its offset commit redoes those
   * records (their outputs appear again, as at-least-once allows), and a transaction stays three round trips.
   */
  private async handleBatchTransactionally(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const { topic, partition } = batch;
    if (batch.messages.length === 0 || this.crashed) return;
    const run = await this.partitionRun(topic, partition, batch.messages[0]!.offset);
    run.slot.commitOffsets = commitOffsetsIfNecessary;
    run.highWatermark = batch.highWatermark;
    if (run.failure !== undefined || run.slot.failure !== undefined) return this.failRun(run);
    let pushed: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.crashed || run.scheduler.halted) break;
      await run.scheduler.push(toBusRecord(topic, partition, message));
      pushed = message.offset;
    }
    if (pushed === batch.messages[batch.messages.length - 1]!.offset) {
      // Everything of the batch accepted: once it is done, commit past its trailing transaction markers too.
      run.pendingEnd = endOfBatch(batch);
      resolveOffset(batch.lastOffset());
    } else if (pushed !== undefined) {
      resolveOffset(pushed);
    }
    if (run.failure !== undefined || run.slot.failure !== undefined) return this.failRun(run);
    // Letting go of the partition (stop, rebalance): only once what was accepted is done and committed.
    if (this.stopping || !isRunning() || isStale()) await this.drainRun(run);
    if (isRunning() && !this.crashed) await heartbeat();
  }

  /** The run of a partition for the current generation, created (with its producer, fencing older ones) on first use. */
  private async partitionRun(topic: string, partition: number, position: string): Promise<PartitionRun> {
    const key = `${topic}|${partition}`;
    const existing = this.runs.get(key);
    if (existing && existing.slot.join === this.joins && !existing.retired) return existing;
    if (existing) this.retireRun(existing);
    const slot = await this.transactionalSlot(topic, partition, position);
    const assignmentId = this.assignmentIdOf(topic, partition, slot.join);
    const confirmOwnership = (): Promise<void> =>
      onSlot(slot, async () => {
        // An offsets-only transaction at the committed position: the coordinator refuses it if we were fenced.
        await this.commitTransaction(slot, [], topic, partition, slot.committedOffset, true);
      });
    const run: PartitionRun = {
      key,
      topic,
      partition,
      slot,
      staged: new Map(),
      queuedUpTo: position,
      pendingEnd: undefined,
      highWatermark: position,
      failure: undefined,
      retired: false,
      timer: undefined,
      scheduler: new KeyOrderedScheduler({
        concurrency: this.options.keyConcurrency,
        maxBuffered: this.options.keyConcurrency * KEYED_BUFFER_PER_SLOT,
        maxBatch: this.options.maxBatchPerKey,
        run: async (records) => {
          const outputs: StagedOutput[] = [];
          try {
            const outcome = await Promise.race([
              processBatch(records, this.options, {
                signal: this.controller.signal,
                produce: this.deps.produce,
                instrumentation: this.busOptions.instrumentation,
                assignmentId,
                staged: outputs,
                confirmOwnership,
              }),
              this.crashSignal,
            ]);
            if (outcome === 'crashed' || outcome === 'abandoned' || this.crashed || run.retired) return 'blocked';
            // Under the batch's last offset: published only once every record before it is done too.
            run.staged.set(BigInt(records[records.length - 1]!.offset), outputs);
            return 'done';
          } catch (error) {
            // The dead-letter write failed: the record stays unfinished; the run fails and starts over from it.
            run.failure ??= error;
            return 'blocked';
          }
        },
      }),
    };
    run.timer = setInterval(() => this.flushRun(run), KEYED_COMMIT_INTERVAL_MS);
    this.runs.set(key, run);
    return run;
  }

  /** Queues the outputs of everything finished below the lowest unfinished record on the run's producer. */
  private flushRun(run: PartitionRun): void {
    if (this.crashed || run.retired) return;
    const next = committableAtEnd(run.scheduler, run.pendingEnd);
    if (next === undefined || BigInt(next) <= BigInt(run.queuedUpTo)) return;
    const upTo = BigInt(next);
    const ready = [...run.staged.keys()].filter((offset) => offset < upTo).sort((a, b) => (a < b ? -1 : 1));
    for (const offset of ready) run.slot.queued.push(...run.staged.get(offset)!);
    for (const offset of ready) run.staged.delete(offset);
    run.slot.queuedOffset = next;
    run.queuedUpTo = next;
    void onSlot(run.slot, () => this.runQueuedTransaction(run.slot, run.topic, run.partition)).catch(() => undefined);
    const onLag = this.busOptions.instrumentation?.onLag;
    if (onLag) {
      const lag = BigInt(run.highWatermark) - upTo;
      onLag({ groupId: this.groupId, topic: run.topic, partition: run.partition, lag: Number(lag < 0n ? 0n : lag) });
    }
  }

  /** Starts nothing more, lets running records finish, queues their outputs and waits for the transactions. */
  private async drainRun(run: PartitionRun): Promise<void> {
    run.scheduler.halt();
    await Promise.race([run.scheduler.drained(), this.crashSignal]);
    if (this.crashed) return;
    this.flushRun(run);
    clearInterval(run.timer);
    await run.slot.queue;
    this.runs.delete(run.key);
    run.retired = true;
  }

  /** Drops a run of an older generation: its unfinished records are redone by whoever owns the partition now. */
  private retireRun(run: PartitionRun): void {
    run.retired = true;
    run.scheduler.halt();
    clearInterval(run.timer);
    if (this.runs.get(run.key) === run) this.runs.delete(run.key);
  }

  /**
   * A run whose record could not be finished (its dead letter failed) or whose transaction failed: what it accepted
   * after the last committed transaction is redone, so the partition is sought back there, and the failure is
   * thrown so that kafkajs restarts the consumer (a failed transaction must not be retried with a new producer in
   * the same generation, see runQueuedTransaction).
   */
  private async failRun(run: PartitionRun): Promise<void> {
    const failure = run.slot.failure ?? run.failure;
    await this.drainRun(run);
    // A failed transaction rewound the partition already (runQueuedTransaction).
    if (run.slot.failure === undefined) this.rewind(run.slot, run.topic, run.partition);
    throw failure;
  }

  /**
   * Seeks a partition of the current generation back to the slot's last committed transaction: kafkajs resolved
   * the records after it when they were accepted, and they must be handled again.
   */
  private rewind(slot: TransactionalSlot, topic: string, partition: number): void {
    if (this.crashed || this.ending || slot.join !== this.joins) return;
    try {
      this.consumer.seek({ topic, partition, offset: slot.committedOffset });
    } catch {
      // Not running any more: the next owner starts from the committed offset anyway.
    }
  }

  /**
   * One transaction of everything queued on the slot; then its offset is committed behind it. On failure the
   * slot breaks: what was queued is dropped, the partition is sought back to the last committed transaction's
   * offset (those records were resolved already), and the next batch of the partition throws, so the consumer
   * restarts and rejoins before this member may produce again. Never re-initialising the producer within one
   * generation matters: a zombie that did would fence the partition's real owner.
   */
  private async runQueuedTransaction(slot: TransactionalSlot, topic: string, partition: number): Promise<void> {
    const nextOffset = slot.queuedOffset;
    if (nextOffset === undefined || slot.failure !== undefined || this.crashed) return;
    const outputs = slot.queued;
    slot.queued = [];
    slot.queuedOffset = undefined;
    try {
      await this.commitTransaction(slot, outputs, topic, partition, nextOffset, false);
    } catch (error) {
      slot.queued = [];
      slot.queuedOffset = undefined;
      this.rewind(slot, topic, partition);
      throw error;
    }
    if (slot.commitOffsets && !this.crashed) this.committer.mark(slot.commitOffsets, topic, partition, nextOffset);
  }

  /** The partition's producer for the current generation, created (and so fencing older ones) on first use. */
  private async transactionalSlot(topic: string, partition: number, position: string): Promise<TransactionalSlot> {
    const key = `${topic}|${partition}`;
    const existing = this.transactionalSlots.get(key);
    if (existing && existing.join === this.joins) {
      // Within one generation a broken producer is never replaced (see runQueuedTransaction): restart instead.
      if (existing.failure !== undefined) throw existing.failure;
      return existing;
    }
    if (existing) {
      this.transactionalSlots.delete(key);
      await closeSlot(existing);
    }
    const join = this.joins;
    const producer = this.deps.transactionalProducer(`${this.groupId}|${topic}|${partition}`);
    try {
      await producer.connect();
      // The first transaction initialises the transactional id: this is the moment a zombie is fenced (KIP-98).
      const txn = await producer.transaction();
      if (this.slotsReleased) {
        // A run of a stopped (or crashed) member got here late: its producer must not outlive the member.
        throw new BusError('CM_ERR_BUS_CLOSED', `the subscription of ${this.groupId} stopped`, {
          context: { topic, partition },
        });
      }
      const slot: TransactionalSlot = {
        producer,
        join,
        txn,
        committedOffset: position,
        queue: Promise.resolve(),
        queued: [],
        queuedOffset: undefined,
        failure: undefined,
        commitOffsets: undefined,
      };
      this.transactionalSlots.set(key, slot);
      return slot;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw toBusError(error, `initialise the transactional producer of ${key}`, { topic, partition });
    }
  }

  private async commitTransaction(
    slot: TransactionalSlot,
    outputs: readonly StagedOutput[],
    topic: string,
    partition: number,
    nextOffset: string,
    withOffsets: boolean,
  ): Promise<void> {
    const { txn } = slot;
    try {
      // Several requests within one transaction when the outputs are big (a 1,024-member group's inbox entries):
      // brokers refuse requests over 1 MiB, and a refused transaction would be retried forever.
      let byTopic = new Map<string, Message[]>();
      let bytes = 0;
      const sendChunk = async (): Promise<void> => {
        if (byTopic.size === 0) return;
        await txn.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([outputTopic, messages]) => ({ topic: outputTopic, messages })),
        });
        for (const [outputTopic, messages] of byTopic) {
          this.busOptions.instrumentation?.onProduced?.({ topic: outputTopic, records: messages.length });
        }
        byTopic = new Map();
        bytes = 0;
      };
      for (const output of outputs) {
        for (const record of output.records) {
          const size = recordBytes(record);
          if (bytes > 0 && bytes + size > MAX_COALESCED_BATCH_BYTES) await sendChunk();
          const messages = byTopic.get(output.topic) ?? [];
          byTopic.set(output.topic, messages);
          messages.push({
            key: record.key,
            value: record.value,
            ...(record.headers ? { headers: { ...record.headers } } : {}),
            ...(record.partition === undefined ? {} : { partition: record.partition }),
          });
          bytes += size;
        }
      }
      await sendChunk();
      if (withOffsets) {
        await txn.sendOffsets({
          consumerGroupId: this.groupId,
          topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }],
        });
      }
      await txn.commit();
      slot.committedOffset = nextOffset;
    } catch (error) {
      slot.failure ??= error;
      // A fenced producer cannot abort either; the coordinator already aborted its transaction.
      if (txn.isActive()) await txn.abort().catch(() => undefined);
      throw toBusError(error, `commit a transaction of ${topic}[${partition}]`, { topic, partition });
    }
    slot.txn = await slot.producer.transaction();
  }

  /** Closes the producers of partitions this member no longer owns (a newer owner fences them anyway). */
  private releaseTransactionalSlots(owned: ReadonlySet<string>): Promise<void> {
    const closing: Array<Promise<void>> = [];
    for (const [key, slot] of this.transactionalSlots) {
      if (owned.has(key)) continue;
      this.transactionalSlots.delete(key);
      closing.push(closeSlot(slot));
    }
    return Promise.all(closing).then(() => undefined);
  }

  stop(): Promise<void> {
    this.ending ??= (async () => {
      this.controller.abort();
      try {
        // From here every batch flushes its commits as it ends; what finished before is committed now.
        this.stopping = true;
        // Transactional runs work behind kafkajs's batches: finish and commit what they accepted first.
        await Promise.all([...this.runs.values()].map((run) => this.drainRun(run).catch(() => undefined)));
        await this.committer.flush();
        // kafkajs waits for the running batch (our loop ends after the in-flight record) and leaves the group.
        await this.consumer.disconnect();
      } finally {
        this.slotsReleased = true;
        await this.releaseTransactionalSlots(new Set());
        this.current = [];
        this.resolveReady();
        this.deps.onEnd();
      }
    })();
    return this.ending;
  }

  crash(): Promise<void> {
    if (this.ending) return this.ending;
    this.crashed = true;
    for (const run of [...this.runs.values()]) this.retireRun(run);
    this.signalCrash();
    this.controller.abort();
    return this.stop();
  }
}

/**
 * Disconnects a slot's producer once its queued transaction is over: disconnecting under a running one would
 * make kafkajs reconnect for its next request (sendOffsets, EndTxn) and leave that connection open for good.
 */
async function closeSlot(slot: TransactionalSlot): Promise<void> {
  const pending = slot.queue;
  // What is already queued runs (or fails) first; anything queued from now on is refused.
  await pending.catch(() => undefined);
  slot.closed = true;
  await slot.queue.catch(() => undefined);
  await slot.producer.disconnect().catch(() => undefined);
}

/** About what a record weighs in a produce request. */
function recordBytes(record: OutgoingRecord): number {
  return (record.value?.length ?? 0) + (record.key === null ? 0 : Buffer.byteLength(record.key)) + 64;
}

/** The offset after the batch, past any control records (transaction markers) or filtered records that end it. */
function endOfBatch(batch: EachBatchPayload['batch']): string {
  return (BigInt(batch.lastOffset()) + 1n).toString();
}

/**
 * The offset to commit: the lowest unfinished record, or, once everything accepted finished, `end` (the end of
 * the last batch accepted whole, past its trailing transaction markers). Kafka's own consumer commits its
 * position, which is past them; committing only past the last data record would leave every transactional topic
 * one offset behind its high watermark for good (a lag that never drains).
 */
function committableAtEnd(scheduler: KeyOrderedScheduler, end: string | undefined): string | undefined {
  const next = scheduler.committableOffset();
  if (end === undefined || next === undefined || scheduler.halted || scheduler.unfinished > 0) return next;
  return BigInt(end) > BigInt(next) ? end : next;
}

/** Pushes the batch's records in order until `stop()`; true when every record was pushed. */
async function pushBatch(
  batch: EachBatchPayload['batch'],
  scheduler: KeyOrderedScheduler,
  stop: () => boolean,
): Promise<boolean> {
  for (const message of batch.messages) {
    if (stop() || scheduler.halted) return false;
    await scheduler.push(toBusRecord(batch.topic, batch.partition, message));
  }
  return true;
}

function toBusRecord(topic: string, partition: number, message: KafkaMessage): BusRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value,
    headers: toHeaders(message.headers),
    timestampMs: Number(message.timestamp),
  };
}

function toHeaders(headers: IHeaders | undefined): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

function allTopicsExist(error: unknown): boolean {
  const candidate = error as { type?: string; errors?: Array<{ type?: string }> } | undefined;
  if (candidate?.type === 'TOPIC_ALREADY_EXISTS') return true;
  return (
    Array.isArray(candidate?.errors) &&
    candidate.errors.length > 0 &&
    candidate.errors.every((inner) => inner.type === 'TOPIC_ALREADY_EXISTS')
  );
}

/**
 * Broker answers kafkajs logs at error level although it retries them at once and they are expected: a transaction
 * begun right after the previous one's EndTxn is answered CONCURRENT_TRANSACTIONS until the coordinator has written
 * the markers (~20 a minute per busy stage). Forwarded at debug, so an operator's error log holds real errors.
 */
const EXPECTED_RETRIED_ANSWERS = ['another concurrent operation on the same transaction was ongoing'];

/** kafkajs's log entries to the bus's logger, with the levels of {@link EXPECTED_RETRIED_ANSWERS} lowered. */
export function forwardLogs(logger: (entry: KafkaBusLogEntry) => void) {
  return ({ namespace, level, log }: LogEntry): void => {
    const { message, ...extra } = log;
    const answer = typeof extra['error'] === 'string' ? extra['error'] : '';
    const expected = EXPECTED_RETRIED_ANSWERS.some((text) => answer.includes(text));
    logger({ level: expected ? 'debug' : (LEVEL_NAMES[level] ?? 'info'), namespace, message, extra });
  };
}
