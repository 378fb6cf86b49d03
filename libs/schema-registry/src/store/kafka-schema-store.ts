import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { SchemaStoreError } from '../errors.js';
import type { SchemaStore, StoreRecord } from './schema-store.js';
import { decodeStoreRecord, encodeStoreRecord } from './store-record-codec.js';

/** The topic Confluent's registry and Karapace keep schemas in. */
export const SCHEMAS_TOPIC = '_schemas';

/** Options of {@link KafkaSchemaStore}. */
export interface KafkaSchemaStoreOptions {
  /** `host:port` of the bootstrap brokers. */
  readonly brokers: readonly string[];
  /** @default '_schemas' */
  readonly topic?: string;
  /** @default 'chatmesh-schema-registry' */
  readonly clientId?: string;
  /** How long a write may take to be read back before it fails (retriable). @default 10_000 */
  readonly appendTimeoutMs?: number;
  /** How long start may take to read the topic to its end. @default 60_000 */
  readonly startTimeoutMs?: number;
  /** Replication factor of the topic if it has to be created; -1 is the broker's default. @default -1 */
  readonly replicationFactor?: number;
}

interface Waiter {
  readonly offset: bigint;
  readonly resolve: () => void;
}

/**
 * A {@link SchemaStore} on a single-partition compacted Kafka topic, as Confluent's KafkaStore does:
 * the topic is created if missing (`cleanup.policy=compact`), read from the beginning on start, and
 * followed afterwards; a write is produced with acks=all and counts only once this instance's own
 * consumer has read it back, so every instance applies every record in the same (log) order.
 * Each instance reads through its own throwaway consumer group and never commits: it always
 * rebuilds its view from offset 0.
 */
export class KafkaSchemaStore implements SchemaStore {
  readonly #topic: string;
  readonly #appendTimeoutMs: number;
  readonly #startTimeoutMs: number;
  readonly #replicationFactor: number;
  readonly #admin: Admin;
  readonly #producer: Producer;
  readonly #consumer: Consumer;
  /** The next offset this instance has not applied yet. */
  #nextOffset = 0n;
  #caughtUp = false;
  #waiters: Waiter[] = [];
  #closed = false;

  constructor(options: KafkaSchemaStoreOptions) {
    this.#topic = options.topic ?? SCHEMAS_TOPIC;
    this.#appendTimeoutMs = options.appendTimeoutMs ?? 10_000;
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#replicationFactor = options.replicationFactor ?? -1;
    const kafka = new Kafka({
      clientId: options.clientId ?? 'chatmesh-schema-registry',
      brokers: [...options.brokers],
      logLevel: logLevel.ERROR,
    });
    this.#admin = kafka.admin();
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.#consumer = kafka.consumer({
      groupId: `chatmesh-schema-registry-${randomUUID()}`,
      allowAutoTopicCreation: false,
      // Reads back our own writes: a short long-poll keeps registration latency low.
      maxWaitTimeInMs: 100,
    });
  }

  async start(apply: (record: StoreRecord) => void): Promise<void> {
    const timer = AbortSignal.timeout(this.#startTimeoutMs);
    try {
      await this.#admin.connect();
      await this.#ensureTopic();
      const [partition] = await this.#admin.fetchTopicOffsets(this.#topic);
      const endOffset = BigInt(partition?.high ?? '0');
      await this.#producer.connect();
      await this.#consumer.connect();
      await this.#consumer.subscribe({ topic: this.#topic, fromBeginning: true });
      const caughtUp = this.#waitFor(endOffset);
      await this.#consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const record = decodeStoreRecord(message.key, message.value);
          if (record !== undefined) apply(record);
          this.#advance(BigInt(message.offset) + 1n);
        },
      });
      await raceAbort(caughtUp, timer, `reading ${this.#topic} to its end took longer than ${this.#startTimeoutMs} ms`);
      this.#caughtUp = true;
    } catch (cause) {
      if (cause instanceof SchemaStoreError) throw cause;
      throw new SchemaStoreError(this.#topic, `cannot read ${this.#topic}: ${(cause as Error).message}`, { cause });
    }
  }

  async append(record: StoreRecord): Promise<void> {
    if (this.#closed) throw new SchemaStoreError(this.#topic, 'the store is closed');
    const { key, value } = encodeStoreRecord(record);
    let offset: bigint;
    try {
      const [result] = await this.#producer.send({
        topic: this.#topic,
        acks: -1,
        messages: [{ key, value, partition: 0 }],
      });
      offset = BigInt(result?.baseOffset ?? '-1');
    } catch (cause) {
      throw new SchemaStoreError(this.#topic, `cannot write to ${this.#topic}: ${(cause as Error).message}`, { cause });
    }
    await raceAbort(
      this.#waitFor(offset + 1n),
      AbortSignal.timeout(this.#appendTimeoutMs),
      `write at offset ${offset} of ${this.#topic} was not read back within ${this.#appendTimeoutMs} ms (timed out)`,
    );
  }

  isCaughtUp(): boolean {
    return this.#caughtUp;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#consumer.disconnect();
    await this.#producer.disconnect();
    await this.#admin.disconnect();
  }

  async #ensureTopic(): Promise<void> {
    const topics = await this.#admin.listTopics();
    if (topics.includes(this.#topic)) return;
    try {
      await this.#admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: this.#topic,
            numPartitions: 1,
            replicationFactor: this.#replicationFactor,
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
      });
    } catch (cause) {
      // Another instance created it between list and create: that is fine.
      if ((cause as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw cause;
    }
  }

  /** Resolves once every offset below `offset` has been applied. */
  #waitFor(offset: bigint): Promise<void> {
    if (this.#nextOffset >= offset) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ offset, resolve }));
  }

  #advance(nextOffset: bigint): void {
    if (nextOffset <= this.#nextOffset) return;
    this.#nextOffset = nextOffset;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.offset <= nextOffset) waiter.resolve();
      else still.push(waiter);
    }
    this.#waiters = still;
  }
}

function raceAbort(promise: Promise<void>, signal: AbortSignal, message: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(new SchemaStoreError(SCHEMAS_TOPIC, message, { context: { timeout: true } }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
