import {
  deadLetterEnvelopeOf,
  deadLetterRecordOf,
  type Bus,
  type BusRecord,
  type DeadLetterEnvelope,
  type HandlerContext,
  type OutgoingRecord,
  type RecordMetadata,
  type Subscription,
} from '@chatmesh/bus';
import { ChatmeshError, isRetriable, type RetryPolicyOptions } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import type { ChatmeshMetrics } from '@chatmesh/metrics';
import { deadLetterTopicOf, valueSubjectOf, type SchemaCodec, type TopicRecordTypes } from '@chatmesh/schemas';
import { RuntimeError } from './errors.js';

/**
 * A map from topic name to record type. The default, {@link TopicRecordTypes}, is generated from the topic table, so
 * sending a record of the wrong type to a topic fails `tsc`; tests of the runtime itself use their own map
 * (`Record<string, T>` for throwaway topics).
 */
export type TopicMap = object;

/** The topic names of a {@link TopicMap}. */
export type TopicOf<M extends TopicMap> = keyof M & string;

/** Produces Avro-encoded records, each with its topic's current schema. */
export interface TypedProducer<M extends TopicMap = TopicRecordTypes> {
  /**
   * Encodes `value` with the subject `<topic>-value` and appends it with `key` (chatId or userId).
   * @throws ChatmeshError `CM_ERR_SCHEMA_ENCODE` when `value` does not match the schema (nothing is sent)
   */
  send<N extends TopicOf<M>>(
    topic: N,
    key: string | null,
    value: M[N],
    headers?: Readonly<Record<string, string>>,
  ): Promise<RecordMetadata>;
}

/** Creates a {@link TypedProducer} over the bus's shared producer. */
export function createTypedProducer<M extends TopicMap = TopicRecordTypes>(
  bus: Bus,
  codec: SchemaCodec,
): TypedProducer<M> {
  return {
    async send(topic, key, value, headers) {
      const bytes = await codec.encode(valueSubjectOf(topic), value);
      const [metadata] = await bus.producer.send(topic, [{ key, value: bytes, ...(headers ? { headers } : {}) }]);
      if (metadata === undefined) {
        throw new ChatmeshError('CM_ERR_COMMON_INTERNAL', `the bus returned no metadata for a record sent to ${topic}`);
      }
      return metadata;
    },
  };
}

/**
 * Where a handler's outputs go: into its transaction when the subscription is transactional (visible only with the
 * record's commit, never from a fenced zombie), otherwise straight to the shared producer.
 */
export interface TypedSink<M extends TopicMap = TopicRecordTypes> {
  /** Encodes `value` with the subject `<topic>-value` and stages or sends it with `key`. */
  send<N extends TopicOf<M>>(
    topic: N,
    key: string | null,
    value: M[N],
    headers?: Readonly<Record<string, string>>,
  ): Promise<void>;
  /** Stages or sends records that are already encoded (an event read back from the store). */
  sendBytes(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
}

/** The {@link TypedSink} of one handler invocation, or of code running outside a handler (no context). */
export function createTypedSink<M extends TopicMap = TopicRecordTypes>(
  codec: SchemaCodec,
  bus: Bus,
  context?: HandlerContext,
): TypedSink<M> {
  const stage = context?.produce;
  return stage
    ? stagingSink(codec, stage)
    : sinkOf(codec, async (topic, records) => void (await bus.producer.send(topic, records)));
}

/** A {@link TypedSink} that hands its records to `stage` (a transaction's, or the bus's dead-letter last words). */
function stagingSink<M extends TopicMap>(
  codec: SchemaCodec,
  stage: (topic: string, records: readonly OutgoingRecord[]) => void,
): TypedSink<M> {
  return sinkOf(codec, async (topic, records) => stage(topic, records));
}

function sinkOf<M extends TopicMap>(
  codec: SchemaCodec,
  sendBytes: (topic: string, records: readonly OutgoingRecord[]) => Promise<void>,
): TypedSink<M> {
  return {
    async send(topic, key, value, headers) {
      const bytes = await codec.encode(valueSubjectOf(topic), value);
      await sendBytes(topic, [{ key, value: bytes, ...(headers ? { headers } : {}) }]);
    },
    sendBytes,
  };
}

/** Handles one decoded record. Resolving marks it processed; throwing retries it (then dead-letters it). */
export type TypedHandler<T> = (value: T, record: BusRecord, context: HandlerContext) => Promise<void>;

/** One decoded record of a batch. */
export interface TypedItem<T> {
  readonly value: T;
  readonly record: BusRecord;
}

/**
 * Handles consecutive decoded records of one key together (see the bus's `batchHandler`). Throwing hands them to
 * the {@link TypedHandler} one by one, each with its retries and dead letter.
 */
export type TypedBatchHandler<T> = (items: ReadonlyArray<TypedItem<T>>, context: HandlerContext) => Promise<void>;

/** Options of {@link subscribeTyped}: the handlers get the record type of `topics` (`T`). */
export interface SubscribeTypedOptions<T, N extends string = string> {
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  readonly groupId: string;
  readonly topics: readonly N[];
  readonly handler: TypedHandler<T>;
  /** Counts records parked because they could not be decoded. @default none */
  readonly metrics?: ChatmeshMetrics;
  /** Warns once per parked record. @default none */
  readonly logger?: Logger;
  /** @default true (see the bus's {@link SubscribeOptions}) */
  readonly fromBeginning?: boolean;
  /** Handler retries before the dead-letter twin. @default the bus's */
  readonly retry?: RetryPolicyOptions;
  /** @default true */
  readonly retryAll?: boolean;
  /** @default 1 */
  readonly partitionsConcurrently?: number;
  /** Records of different keys handled at once within one partition, one key in order (see the bus). @default 1 */
  readonly keyConcurrency?: number;
  /** Outputs staged through {@link createTypedSink} commit atomically with the offsets (see the bus). @default false */
  readonly transactional?: boolean;
  /** Batches per key (see the bus): a record that does not decode makes its batch go record by record. */
  readonly batchHandler?: TypedBatchHandler<T>;
  /** @default the bus's (64) */
  readonly maxBatchPerKey?: number;
  /**
   * Called once when a decodable record is dead-lettered (after its retries): what it sends through `sink` goes out
   * with the dead letter, e.g. an answer to whoever waits on the record (see the bus's `deadLetter.lastWords`).
   */
  readonly lastWords?: (value: T, error: unknown, sink: TypedSink) => Promise<void>;
}

/** Encodes a dead-letter envelope with the DeadLetter schema registered under `<topic>.dlq-value`. */
export function createDeadLetterEncoder(codec: SchemaCodec): (envelope: DeadLetterEnvelope) => Promise<Buffer> {
  return (envelope) => codec.encode(valueSubjectOf(deadLetterTopicOf(envelope.originalTopic)), envelope);
}

/**
 * Joins `groupId` on `topics` and calls `handler` with each record's decoded value.
 *
 * A record that cannot be decoded (bad framing, unknown schema id, null value) goes straight to
 * the topic's dead-letter twin with its error code and is not retried: no retry can make those bytes
 * decodable, and retrying would block the partition behind it. A decode failure the codec marks
 * retriable (the registry is unreachable) is thrown to the bus instead, which retries it like any
 * transient fault. A handler that keeps throwing is dead-lettered by the bus after its retries,
 * with the Avro DeadLetter encoder passed here.
 */
export async function subscribeTyped<M extends TopicMap = TopicRecordTypes, N extends TopicOf<M> = TopicOf<M>>(
  options: SubscribeTypedOptions<M[N], N>,
): Promise<Subscription> {
  type T = M[N];
  const { bus, codec, groupId, handler, batchHandler, metrics, logger } = options;
  const encodeDeadLetter = createDeadLetterEncoder(codec);

  async function parkUndecodable(record: BusRecord, context: HandlerContext, error: unknown): Promise<void> {
    const errorCode = error instanceof ChatmeshError ? error.code : 'CM_ERR_SCHEMA_DECODE';
    const envelope = deadLetterEnvelopeOf(record, { groupId, errorCode, error, attempts: context.attempt });
    const deadLetterTopic = deadLetterTopicOf(record.topic);
    const parked = deadLetterRecordOf(envelope, await encodeDeadLetter(envelope));
    // Awaited (or staged in the transaction) before the handler returns: the offset is committed only once the
    // twin holds the record.
    if (context.produce) context.produce(deadLetterTopic, [parked]);
    else await bus.producer.send(deadLetterTopic, [parked]);
    metrics?.busRecordsFailedTotal.inc({ group: groupId, topic: record.topic, error_code: errorCode });
    logger?.warn(
      { err: error, topic: record.topic, partition: record.partition, offset: record.offset, groupId, deadLetterTopic },
      'undecodable record parked in the dead-letter topic',
    );
  }

  async function decodeValue(record: BusRecord): Promise<T> {
    if (record.value === null) {
      throw new RuntimeError(
        'CM_ERR_RUNTIME_EMPTY_RECORD',
        `record ${record.topic}/${record.partition}@${record.offset} has a null value`,
        { context: { topic: record.topic, groupId, partition: record.partition, offset: record.offset } },
      );
    }
    return (await codec.decode<T>(record.value)).value;
  }

  return bus.subscribe({
    groupId,
    topics: options.topics,
    ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.retryAll === undefined ? {} : { retryAll: options.retryAll }),
    ...(options.partitionsConcurrently === undefined ? {} : { partitionsConcurrently: options.partitionsConcurrently }),
    ...(options.keyConcurrency === undefined ? {} : { keyConcurrency: options.keyConcurrency }),
    ...(options.transactional === undefined ? {} : { transactional: options.transactional }),
    ...(options.maxBatchPerKey === undefined ? {} : { maxBatchPerKey: options.maxBatchPerKey }),
    ...(batchHandler
      ? {
          // A record that does not decode throws here, so the bus hands the batch to the record handler below,
          // which parks that record alone.
          batchHandler: async (records: readonly BusRecord[], context: HandlerContext) =>
            batchHandler(
              await Promise.all(records.map(async (record) => ({ value: await decodeValue(record), record }))),
              context,
            ),
        }
      : {}),
    deadLetter: {
      encode: encodeDeadLetter,
      topicFor: deadLetterTopicOf,
      ...(options.lastWords
        ? {
            lastWords: async (
              record: BusRecord,
              error: unknown,
              produce: (topic: string, records: readonly OutgoingRecord[]) => void,
            ) => {
              // An undecodable record was parked by the handler without retries; there is nobody to answer.
              const value = await decodeValue(record);
              await options.lastWords!(value, error, stagingSink(codec, produce));
            },
          }
        : {}),
    },
    handler: async (record, context) => {
      let value: T;
      try {
        value = await decodeValue(record);
      } catch (error) {
        if (isRetriable(error)) throw error;
        await parkUndecodable(record, context, error);
        return;
      }
      await handler(value, record, context);
    },
  });
}

/** {@link subscribeTyped} options without the parts {@link TypedTopics} already holds. */
export type TypedSubscribeOptions<T, N extends string = string> = Omit<
  SubscribeTypedOptions<T, N>,
  'bus' | 'codec' | 'metrics' | 'logger'
>;

/**
 * The `typed` helper a service receives in its deps: one producer and a subscribe bound to the process's bus and
 * codec. Both take their topic from {@link TopicRecordTypes}: the handler's value is the topics' record type.
 */
export interface TypedTopics extends TypedProducer {
  subscribe<N extends TopicOf<TopicRecordTypes>>(
    options: TypedSubscribeOptions<TopicRecordTypes[N], N>,
  ): Promise<Subscription>;
  /** The sink of one handler invocation: staged in its transaction when there is one, else sent at once. */
  sinkFor(context: HandlerContext): TypedSink;
}

/** Binds {@link createTypedProducer} and {@link subscribeTyped} to one bus, codec, metrics and logger. */
export function createTypedTopics(options: {
  bus: Bus;
  codec: SchemaCodec;
  metrics?: ChatmeshMetrics;
  logger?: Logger;
}): TypedTopics {
  const producer = createTypedProducer(options.bus, options.codec);
  return {
    send: (topic, key, value, headers) => producer.send(topic, key, value, headers),
    sinkFor: (context) => createTypedSink(options.codec, options.bus, context),
    subscribe: (subscribeOptions) =>
      subscribeTyped<TopicRecordTypes, (typeof subscribeOptions.topics)[number]>({
        ...subscribeOptions,
        bus: options.bus,
        codec: options.codec,
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      }),
  };
}
