/**
 * The in-process bus (embedded mode and fast tests) with Kafka's semantics: explicit topics with
 * partitions, keys placed by kafkajs's partitioner, consumer groups with committed offsets, rebalancing,
 * at-least-once delivery in partition order, retries then the dead-letter twin. Not durable: everything
 * lives in this process's memory and is gone when it exits.
 */
import { BusError } from '../errors.js';
import { compileSubscribeOptions, isDeadLetterTopic } from '../internal/subscribe-options.js';
import { expandTopicSpecs } from '../internal/topic-specs.js';
import { partitionForKey } from '../partitioner.js';
import type {
  Bus,
  BusAdmin,
  BusInstrumentation,
  BusProducer,
  BusRecord,
  OutgoingRecord,
  RecordMetadata,
  Subscription,
  TopicSpec,
} from '../types.js';
import { MemoryGroup } from './memory-group.js';
import { MemoryTopic, type MemoryPartition, type MemoryRetention } from './memory-log.js';

/** Options of {@link createMemoryBus}. */
export interface MemoryBusOptions {
  /** Events for metrics (produced, handled, lag, rebalance). */
  readonly instrumentation?: BusInstrumentation;
  /**
   * How long a rebalance waits for a revoked partition's in-flight record before dropping its owner
   * without a commit (Kafka's `rebalanceTimeout`). @default 30000
   */
  readonly rebalanceTimeoutMs?: number;
  /** Pause before redelivering a record whose dead-letter write failed. @default 1000 */
  readonly deadLetterFailureBackoffMs?: number;
  /**
   * How much each partition keeps, like Kafka's `retention.bytes` and `retention.ms`: past either the oldest
   * records are dropped, and a consumer that fell behind them is reset by its offset reset policy (earliest
   * retained with `fromBeginning`, else latest), as Kafka resets an out-of-range offset. `null` keeps everything.
   * @default {@link MEMORY_BUS_DEFAULTS}.retention
   */
  readonly retention?: MemoryRetention | null;
}

/** Defaults of {@link MemoryBusOptions}. */
export const MEMORY_BUS_DEFAULTS = Object.freeze({
  rebalanceTimeoutMs: 30_000,
  deadLetterFailureBackoffMs: 1_000,
  /**
   * 64 MiB and one hour per partition: embedded mode runs for hours without growing, and a consumer is never
   * an hour behind in one process (what it loses past that is what Kafka would lose with these settings).
   */
  retention: Object.freeze({ maxBytes: 64 * 1024 * 1024, maxAgeMs: 60 * 60 * 1000 }) as MemoryRetention,
});

/**
 * Creates an in-process bus. Deliveries happen on later ticks, never inside `send`.
 * @throws BusError `CM_ERR_BUS_INVALID_OPTIONS` on a non-positive timeout.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? MEMORY_BUS_DEFAULTS.rebalanceTimeoutMs;
  const deadLetterFailureBackoffMs =
    options.deadLetterFailureBackoffMs ?? MEMORY_BUS_DEFAULTS.deadLetterFailureBackoffMs;
  const retention = options.retention === undefined ? MEMORY_BUS_DEFAULTS.retention : options.retention;
  if (retention !== null && !(retention.maxBytes > 0 && retention.maxAgeMs > 0)) {
    throw new BusError(
      'CM_ERR_BUS_INVALID_OPTIONS',
      `retention.maxBytes and retention.maxAgeMs must be > 0 (got ${retention.maxBytes}, ${retention.maxAgeMs})`,
    );
  }
  if (!(rebalanceTimeoutMs > 0) || !(deadLetterFailureBackoffMs >= 0)) {
    throw new BusError(
      'CM_ERR_BUS_INVALID_OPTIONS',
      `rebalanceTimeoutMs must be > 0 and deadLetterFailureBackoffMs >= 0 (got ${rebalanceTimeoutMs}, ${deadLetterFailureBackoffMs})`,
    );
  }
  const { instrumentation } = options;
  const topics = new Map<string, MemoryTopic>();
  const groups = new Map<string, MemoryGroup>();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new BusError('CM_ERR_BUS_CLOSED', 'The memory bus is closed');
  };
  const requireTopic = (name: string): MemoryTopic => {
    const topic = topics.get(name);
    if (!topic)
      throw new BusError('CM_ERR_BUS_UNKNOWN_TOPIC', `Topic "${name}" does not exist; create it first`, {
        context: { topic: name },
      });
    return topic;
  };

  const send = async (topicName: string, records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> => {
    assertOpen();
    const topic = requireTopic(topicName);
    const partitionCount = topic.partitions.length;
    // Place every record before appending any, so a bad partition rejects the whole call as Kafka would.
    const placed = records.map((record) => {
      if (record.partition !== undefined) {
        if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= partitionCount) {
          throw new BusError(
            'CM_ERR_BUS_INVALID_PARTITION',
            `Topic "${topicName}" has no partition ${record.partition}`,
            {
              context: { topic: topicName, partition: record.partition },
            },
          );
        }
        return record.partition;
      }
      if (record.key !== null) return partitionForKey(record.key, partitionCount);
      return topic.roundRobin++ % partitionCount;
    });
    const timestampMs = Date.now();
    const touched = new Set<MemoryPartition>();
    const metadata = records.map((record, index): RecordMetadata => {
      const partitionIndex = placed[index]!;
      const partition = topic.partitions[partitionIndex]!;
      const offset = String(partition.high);
      const stored: BusRecord = Object.freeze({
        topic: topicName,
        partition: partitionIndex,
        offset,
        key: record.key,
        // Copy: the producer may reuse its buffer, and Kafka consumers never see the producer's memory.
        value: record.value === null ? null : Buffer.from(record.value),
        headers: Object.freeze({ ...(record.headers ?? {}) }),
        timestampMs,
      });
      partition.append(stored);
      touched.add(partition);
      return { topic: topicName, partition: partitionIndex, offset };
    });
    // One wake-up per touched partition per call on a later tick: a 1,024-record fan-out costs one
    // notification per partition, not a timer per record.
    if (touched.size > 0) setImmediate(() => touched.forEach((partition) => partition.notify()));
    instrumentation?.onProduced?.({ topic: topicName, records: records.length });
    return metadata;
  };

  const producer: BusProducer = { send };

  const groupFor = (groupId: string): MemoryGroup => {
    let group = groups.get(groupId);
    if (!group) {
      group = new MemoryGroup(groupId, {
        topic: (name) => topics.get(name),
        produce: async (topic, record) => void (await send(topic, [record])),
        instrumentation,
        rebalanceTimeoutMs,
        deadLetterFailureBackoffMs,
      });
      groups.set(groupId, group);
    }
    return group;
  };

  const admin: BusAdmin = {
    async createTopics(specs: readonly TopicSpec[]): Promise<void> {
      assertOpen();
      const problems = specs
        .filter((spec) => !spec.name || !Number.isInteger(spec.partitions) || spec.partitions < 1)
        .map((spec) => `${JSON.stringify(spec.name)}: partitions must be an integer >= 1 (got ${spec.partitions})`);
      if (problems.length > 0)
        throw new BusError('CM_ERR_BUS_INVALID_OPTIONS', `Invalid topic specs: ${problems.join('; ')}`, {
          context: { problems },
        });
      for (const spec of expandTopicSpecs(specs)) {
        if (!topics.has(spec.name)) topics.set(spec.name, new MemoryTopic(spec, retention));
      }
    },
    async listTopics(): Promise<string[]> {
      return [...topics.keys()];
    },
    async partitionCount(topic: string): Promise<number> {
      return requireTopic(topic).partitions.length;
    },
    async fetchTopicOffsets(topic: string) {
      return requireTopic(topic).partitions.map((partition, index) => ({
        partition: index,
        low: String(partition.low),
        high: String(partition.high),
      }));
    },
    async fetchCommittedOffsets(groupId: string, topic: string) {
      const group = groups.get(groupId);
      return requireTopic(topic).partitions.map((_, index) => ({
        partition: index,
        offset: String(group?.committedOffset(topic, index) ?? -1),
      }));
    },
    async resetCommittedOffsets(groupId, topicName, to): Promise<void> {
      const topic = requireTopic(topicName);
      const group = groupFor(groupId);
      if (group.hasLiveMembers()) {
        throw new BusError(
          'CM_ERR_BUS_GROUP_ACTIVE',
          `Group "${groupId}" has running members; stop them before resetting offsets`,
          {
            context: { groupId, topic: topicName },
          },
        );
      }
      const targets =
        to === 'earliest' || to === 'latest'
          ? topic.partitions.map((partition, index) => ({
              partition: index,
              offset: to === 'earliest' ? partition.low : partition.high,
            }))
          : to.map(({ partition, offset }) => ({ partition, offset: Number(offset) }));
      for (const { partition, offset } of targets) {
        if (!topic.partitions[partition]) {
          throw new BusError('CM_ERR_BUS_INVALID_PARTITION', `Topic "${topicName}" has no partition ${partition}`, {
            context: { topic: topicName, partition },
          });
        }
        group.setCommitted(topicName, partition, offset);
      }
    },
  };

  return {
    kind: 'memory',
    admin,
    producer,
    partitionForKey,
    async subscribe(raw) {
      assertOpen();
      const compiled = compileSubscribeOptions(raw);
      // Fail at subscribe, not at the first failing record: both the topics and their twins must exist
      // (a twin has no twin: a reader of `x.dlq` whose handler keeps failing is redelivered, not dead-lettered).
      for (const topic of compiled.topics) {
        requireTopic(topic);
        if (!isDeadLetterTopic(topic)) requireTopic(compiled.deadLetterTopicFor(topic));
      }
      const member = groupFor(compiled.groupId).join(compiled);
      subscriptions.add(member);
      return member;
    },
    async close(): Promise<void> {
      if (closed) return;
      await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
      closed = true;
    },
  };
}
