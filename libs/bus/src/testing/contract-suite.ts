/**
 * The bus contract suite: one set of tests every {@link Bus} implementation must pass. The memory bus runs it
 * as a unit test and the Kafka bus against a real broker, so embedded mode cannot drift from production.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ChatmeshError } from '@chatmesh/errors';
import { BusError } from '../errors.js';
import type { Bus, BusRecord, DeadLetterEnvelope, RecordHandler, SubscribeOptions, Subscription } from '../types.js';
import { kafkajsPartitionForKey, PARTITIONER_REFERENCE_KEYS } from './kafkajs-partition.js';
import { createGate, waitFor } from './wait-for.js';

/** What the suite needs to run against one implementation. */
export interface BusContractTarget {
  readonly bus: Bus;
  /** Called once after the suite (close the bus, stop infrastructure the target started). */
  readonly dispose?: () => Promise<void>;
}

/** Options of {@link runBusContractSuite}. */
export interface BusContractSuiteOptions {
  /** How long each wait may take; real Kafka rebalances take seconds. @default 10000 */
  readonly waitTimeoutMs?: number;
}

/** JSON encoding of the dead-letter envelope (bytes as base64), the tests' stand-in for the Avro codec. */
export async function encodeDeadLetterJson(envelope: DeadLetterEnvelope): Promise<Buffer> {
  return Buffer.from(
    JSON.stringify({ ...envelope, originalValue: envelope.originalValue?.toString('base64') ?? null }),
  );
}

/** The inverse of {@link encodeDeadLetterJson}. */
export function decodeDeadLetterJson(bytes: Buffer): DeadLetterEnvelope {
  const parsed = JSON.parse(bytes.toString('utf8')) as DeadLetterEnvelope & { originalValue: string | null };
  return {
    ...parsed,
    originalValue: parsed.originalValue === null ? null : Buffer.from(parsed.originalValue, 'base64'),
  };
}

const unique = (prefix: string): string => `test-${prefix}-${randomUUID().slice(0, 8)}`;
const idOf = (record: BusRecord): string => `${record.partition}@${record.offset}`;

/**
 * Registers the contract tests under `describe(name)`. `makeTarget` runs once, in `before`.
 * Every test uses its own topics and groups, so the suite can share one broker with other suites.
 */
export function runBusContractSuite(
  name: string,
  makeTarget: () => Promise<BusContractTarget>,
  options: BusContractSuiteOptions = {},
): void {
  const timeoutMs = options.waitTimeoutMs ?? 10_000;
  const wait = <T>(condition: () => T | Promise<T>, description: string) =>
    waitFor(condition, { timeoutMs, description, intervalMs: 20 });

  describe(name, () => {
    let target: BusContractTarget;
    let bus: Bus;
    const live: Subscription[] = [];

    before(async () => {
      target = await makeTarget();
      bus = target.bus;
    });
    after(async () => {
      // Crashed or stopped members make this a no-op; anything a failed test left running is stopped here.
      await Promise.allSettled(live.map((subscription) => subscription.stop()));
      await target?.dispose?.();
    });

    const createTopic = async (partitions: number): Promise<string> => {
      const topic = unique('topic');
      await bus.admin.createTopics([{ name: topic, partitions }]);
      return topic;
    };
    const subscribe = async (
      options: Omit<SubscribeOptions, 'deadLetter' | 'handler'> & {
        handler: RecordHandler;
        deadLetter?: SubscribeOptions['deadLetter'];
      },
    ): Promise<Subscription> => {
      const subscription = await bus.subscribe({ deadLetter: { encode: encodeDeadLetterJson }, ...options });
      live.push(subscription);
      return subscription;
    };
    const committed = async (groupId: string, topic: string): Promise<Map<number, bigint>> =>
      new Map(
        (await bus.admin.fetchCommittedOffsets(groupId, topic)).map(({ partition, offset }) => [
          partition,
          BigInt(offset),
        ]),
      );
    const highWatermarks = async (topic: string): Promise<Map<number, bigint>> =>
      new Map((await bus.admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, BigInt(high)]));
    const allCommitted = async (groupId: string, topic: string): Promise<boolean> => {
      const [done, high] = await Promise.all([committed(groupId, topic), highWatermarks(topic)]);
      return [...high].every(([partition, offset]) => offset === 0n || done.get(partition) === offset);
    };

    it('places keys exactly where kafkajs does, and records really land there', async () => {
      for (const partitionCount of [1, 3, 8, 12]) {
        for (const key of PARTITIONER_REFERENCE_KEYS) {
          assert.equal(
            bus.partitionForKey(key, partitionCount),
            kafkajsPartitionForKey(key, partitionCount),
            `key ${JSON.stringify(key.slice(0, 20))} / ${partitionCount}`,
          );
        }
      }
      const topic = await createTopic(8);
      const keys = PARTITIONER_REFERENCE_KEYS.slice(0, 14);
      const metadata = await bus.producer.send(
        topic,
        keys.map((key) => ({ key, value: Buffer.from(key) })),
      );
      metadata.forEach((landed, index) =>
        assert.equal(landed.partition, kafkajsPartitionForKey(keys[index]!, 8), `key ${keys[index]}`),
      );
      const seen = new Map<string, number>();
      await subscribe({
        groupId: unique('group'),
        topics: [topic],
        handler: async (record) => void seen.set(record.value!.toString(), record.partition),
      });
      await wait(() => seen.size === keys.length, 'every keyed record');
      for (const key of keys) assert.equal(seen.get(key), kafkajsPartitionForKey(key, 8), `consumed key ${key}`);
    });

    it('rejects producing to a topic that was never created', async () => {
      await assert.rejects(
        bus.producer.send(unique('missing'), [{ key: 'k', value: Buffer.from('v') }]),
        (error: unknown) => {
          assert.ok(error instanceof BusError, `expected BusError, got ${String(error)}`);
          assert.equal(error.code, 'CM_ERR_BUS_UNKNOWN_TOPIC');
          return true;
        },
      );
      await assert.rejects(bus.admin.partitionCount(unique('missing')), { code: 'CM_ERR_BUS_UNKNOWN_TOPIC' });
    });

    it('keeps order within each partition across many keys', async () => {
      const topic = await createTopic(4);
      const keys = Array.from({ length: 24 }, (_, index) => `chat-${index}`);
      const perKey = 10;
      const received = new Map<string, number[]>();
      const offsetsByPartition = new Map<number, bigint[]>();
      await subscribe({
        groupId: unique('group'),
        topics: [topic],
        partitionsConcurrently: 2,
        handler: async (record) => {
          const [key, seq] = record.value!.toString().split('#') as [string, string];
          received.set(key, [...(received.get(key) ?? []), Number(seq)]);
          offsetsByPartition.set(record.partition, [
            ...(offsetsByPartition.get(record.partition) ?? []),
            BigInt(record.offset),
          ]);
          if (Number(seq) % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
        },
      });
      for (let seq = 0; seq < perKey; seq++) {
        await bus.producer.send(
          topic,
          keys.map((key) => ({ key, value: Buffer.from(`${key}#${seq}`) })),
        );
      }
      await wait(
        () => [...received.values()].reduce((sum, list) => sum + list.length, 0) >= keys.length * perKey,
        'every record',
      );
      for (const key of keys)
        assert.deepEqual(
          received.get(key),
          Array.from({ length: perKey }, (_, seq) => seq),
          `order of ${key}`,
        );
      for (const [partition, offsets] of offsetsByPartition) {
        assert.deepEqual(
          offsets,
          [...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
          `offsets of partition ${partition}`,
        );
      }
    });

    it('redelivers uncommitted records to the next member after a crash, and the crashed member cannot commit', async () => {
      const topic = await createTopic(2);
      const groupId = unique('group');
      const total = 20;
      await bus.producer.send(
        topic,
        Array.from({ length: total }, (_, index) => ({ key: `k${index}`, value: Buffer.from(String(index)) })),
      );
      const handledByA: BusRecord[] = [];
      const hang = createGate();
      let hangingRecord: BusRecord | undefined;
      let hungHandlerFinished = false;
      const a = await subscribe({
        groupId,
        topics: [topic],
        handler: async (record) => {
          if (handledByA.length >= 5) {
            hangingRecord = record;
            await hang.promise;
            hungHandlerFinished = true;
            return;
          }
          handledByA.push(record);
        },
      });
      await wait(() => hangingRecord, 'member A to hang mid-stream');
      // A's commits are synchronous with its handler, so the first five are committed by now.
      await wait(
        async () =>
          [...(await committed(groupId, topic)).values()].reduce(
            (sum, offset) => sum + (offset > 0n ? offset : 0n),
            0n,
          ) === 5n,
        'five commits',
      );
      await a.crash();
      const snapshot = await committed(groupId, topic);
      // The hung handler now resolves after the crash: its record must stay uncommitted.
      hang.open();
      await wait(() => hungHandlerFinished, 'the hung handler to finish');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(await committed(groupId, topic), snapshot, 'a crashed member committed after the crash');

      const handledByB: BusRecord[] = [];
      await subscribe({ groupId, topics: [topic], handler: async (record) => void handledByB.push(record) });
      await wait(() => allCommitted(groupId, topic), 'B to commit everything');
      const expected = new Set<string>();
      const high = await highWatermarks(topic);
      for (const [partition, end] of high) {
        const start = snapshot.get(partition)! < 0n ? 0n : snapshot.get(partition)!;
        for (let offset = start; offset < end; offset++) expected.add(`${partition}@${offset}`);
      }
      const gotByB = new Set(handledByB.map(idOf));
      assert.deepEqual(gotByB, expected, 'B receives exactly the uncommitted records');
      assert.ok(gotByB.has(idOf(hangingRecord!)), 'the in-flight record is redelivered');
      const union = new Set([...handledByA.map(idOf), ...gotByB]);
      assert.equal(union.size, total, 'nothing lost');
      for (const record of handledByA)
        assert.ok(!gotByB.has(idOf(record)), `committed record ${idOf(record)} delivered again`);
    });

    for (const keyConcurrency of [1, 4]) {
      it(`splits partitions when a member joins and takes them back when it leaves, never with two owners at once (keyConcurrency ${keyConcurrency})`, async () => {
        const topic = await createTopic(4);
        const groupId = unique('group');
        const handled = new Map<string, number>();
        const inFlight = new Map<number, { member: string; count: number }>();
        const violations: string[] = [];
        const handledBy = new Map<string, number>();
        const handlerFor =
          (member: string): RecordHandler =>
          async (record) => {
            const owner = inFlight.get(record.partition);
            if (owner !== undefined && owner.member !== member)
              violations.push(`${member} and ${owner.member} on partition ${record.partition}`);
            if (owner?.member === member) owner.count++;
            else inFlight.set(record.partition, { member, count: 1 });
            await new Promise((resolve) => setTimeout(resolve, 1));
            const mine = inFlight.get(record.partition);
            if (mine && mine.member === member && --mine.count === 0) inFlight.delete(record.partition);
            handled.set(record.value!.toString(), (handled.get(record.value!.toString()) ?? 0) + 1);
            handledBy.set(member, (handledBy.get(member) ?? 0) + 1);
          };
        const produce = (from: number, count: number) =>
          bus.producer.send(
            topic,
            Array.from({ length: count }, (_, index) => ({
              key: `k${from + index}`,
              value: Buffer.from(String(from + index)),
            })),
          );

        const a = await subscribe({ groupId, topics: [topic], keyConcurrency, handler: handlerFor('a') });
        await a.ready;
        await produce(0, 40);
        const b = await subscribe({ groupId, topics: [topic], keyConcurrency, handler: handlerFor('b') });
        await b.ready;
        await wait(() => a.assignment().length === 2 && b.assignment().length === 2, 'partitions split 2/2');
        const owned = [...a.assignment(), ...b.assignment()].map(({ partition }) => partition).sort();
        assert.deepEqual(owned, [0, 1, 2, 3], 'every partition has exactly one owner');
        await produce(40, 40);
        await wait(() => handled.size === 80, 'all 80 records after the join');
        assert.ok((handledBy.get('b') ?? 0) > 0, 'the joining member handles its share');
        const beforeLeave = handledBy.get('a') ?? 0;

        await b.stop();
        await wait(() => a.assignment().length === 4, 'A to own every partition after B left');
        await produce(80, 40);
        await wait(() => handled.size === 120, 'all 120 records after the leave');
        assert.ok((handledBy.get('a') ?? 0) - beforeLeave >= 40, 'the remaining member handles every new record');
        assert.deepEqual(violations, []);
        await wait(() => allCommitted(groupId, topic), 'everything committed');
      });
    }

    it('dead-letters a record after its retries, with the error, attempts and original bytes, then moves on', async () => {
      const topic = await createTopic(1);
      const groupId = unique('group');
      const attempts: number[] = [];
      const good: string[] = [];
      await bus.producer.send(topic, [
        { key: 'poison', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]), headers: { trace: 't-1' } },
        { key: 'fine', value: Buffer.from('after') },
      ]);
      await subscribe({
        groupId,
        topics: [topic],
        retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5, jitter: false },
        handler: async (record, context) => {
          if (record.key === 'poison') {
            attempts.push(context.attempt);
            throw new Error('cannot handle poison');
          }
          good.push(record.value!.toString());
        },
      });
      const letters: DeadLetterEnvelope[] = [];
      await subscribe({
        groupId: unique('dlq-reader'),
        topics: [`${topic}.dlq`],
        handler: async (record) => void letters.push(decodeDeadLetterJson(record.value!)),
      });
      await wait(() => letters.length === 1 && good.length === 1, 'the dead letter and the next record');
      assert.deepEqual(attempts, [1, 2, 3]);
      const letter = letters[0]!;
      assert.equal(letter.errorCode, 'CM_ERR_BUS_HANDLER_FAILED');
      assert.equal(letter.errorMessage, 'cannot handle poison');
      assert.equal(letter.attempts, 3);
      assert.equal(letter.originalTopic, topic);
      assert.equal(letter.originalPartition, 0);
      assert.equal(letter.originalOffset, '0');
      assert.equal(letter.originalKey, 'poison');
      assert.deepEqual(letter.originalValue, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      assert.equal(letter.originalHeaders.trace, 't-1');
      assert.equal(letter.groupId, groupId);
      await wait(async () => (await committed(groupId, topic)).get(0) === 2n, 'the group to move past the dead letter');
    });

    for (const transactional of [false, true]) {
      it(`a dead-lettered record's last words go out with its dead letter (transactional: ${transactional})`, async () => {
        const topic = await createTopic(1);
        const answers = await createTopic(1);
        await bus.producer.send(topic, [
          { key: 'poison', value: Buffer.from('p') },
          { key: 'fine', value: Buffer.from('f') },
        ]);
        const handled: string[] = [];
        await subscribe({
          groupId: unique('group'),
          topics: [topic],
          transactional,
          retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5, jitter: false },
          handler: async (record) => {
            if (record.key === 'poison') throw new Error('cannot handle poison');
            handled.push(record.key!);
          },
          deadLetter: {
            encode: encodeDeadLetterJson,
            lastWords: async (record, error, produce) =>
              produce(answers, [{ key: record.key, value: Buffer.from(`failed: ${(error as Error).message}`) }]),
          },
        });
        const heard: string[] = [];
        await subscribe({
          groupId: unique('answers-reader'),
          topics: [answers],
          handler: async (record) => void heard.push(`${record.key} ${record.value!.toString()}`),
        });
        const letters: DeadLetterEnvelope[] = [];
        await subscribe({
          groupId: unique('dlq-reader'),
          topics: [`${topic}.dlq`],
          handler: async (record) => void letters.push(decodeDeadLetterJson(record.value!)),
        });
        await wait(() => heard.length === 1 && letters.length === 1 && handled.length === 1, 'the last words');
        assert.deepEqual(heard, ['poison failed: cannot handle poison']);
        assert.equal(letters[0]!.originalKey, 'poison');
        assert.deepEqual(handled, ['fine'], 'only the poison record failed');
      });
    }

    it('sends a non-retriable failure straight to the dead-letter twin when retryAll is false', async () => {
      const topic = await createTopic(1);
      const calls: string[] = [];
      await bus.producer.send(topic, [
        { key: 'foreign', value: Buffer.from('1') },
        { key: 'coded', value: Buffer.from('2') },
      ]);
      await subscribe({
        groupId: unique('group'),
        topics: [topic],
        retryAll: false,
        retry: { maxAttempts: 5, initialDelayMs: 1, jitter: false },
        handler: async (record) => {
          calls.push(record.key!);
          if (record.key === 'foreign') throw new TypeError('not retriable without retryAll');
          throw new ChatmeshError('CM_ERR_COMMON_INTERNAL', 'broken invariant');
        },
      });
      const letters: DeadLetterEnvelope[] = [];
      await subscribe({
        groupId: unique('dlq-reader'),
        topics: [`${topic}.dlq`],
        handler: async (record) => void letters.push(decodeDeadLetterJson(record.value!)),
      });
      await wait(() => letters.length === 2, 'two dead letters');
      assert.deepEqual(calls, ['foreign', 'coded'], 'each record tried once');
      assert.deepEqual(
        letters.map((letter) => [letter.originalKey, letter.errorCode, letter.attempts]),
        [
          ['foreign', 'CM_ERR_BUS_HANDLER_FAILED', 1],
          ['coded', 'CM_ERR_COMMON_INTERNAL', 1],
        ],
      );
    });

    it('stop() lets the in-flight record finish and commits it', async () => {
      const topic = await createTopic(1);
      const groupId = unique('group');
      const gate = createGate();
      let started = false;
      let finished = false;
      await bus.producer.send(topic, [{ key: 'k', value: Buffer.from('slow') }]);
      const subscription = await subscribe({
        groupId,
        topics: [topic],
        handler: async () => {
          started = true;
          await gate.promise;
          finished = true;
        },
      });
      await wait(() => started, 'the handler to start');
      let stopped = false;
      const stopping = subscription.stop().then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(stopped, false, 'stop() must wait for the in-flight record');
      gate.open();
      await stopping;
      assert.equal(finished, true);
      assert.equal((await committed(groupId, topic)).get(0), 1n, 'the in-flight record is committed');
    });

    describe('batches per key (batchHandler)', () => {
      it('hands the records of one key that waited to the batch handler together, in order, never mixing keys', async () => {
        const topic = await createTopic(1);
        const groupId = unique('group');
        const hold = createGate();
        const batches: Array<{ key: string | null; values: string[] }> = [];
        const singles: string[] = [];
        // All in one fetch (a Kafka member that is not transactional fetches again only once a fetched batch is done):
        // a#0 starts alone, so a's next 7 records wait behind it and come as batches of at most 5; "b" runs beside.
        await bus.producer.send(topic, [
          ...Array.from({ length: 8 }, (_, i) => ({ key: 'a', value: Buffer.from(`a#${i}`) })),
          { key: 'b', value: Buffer.from('b#0') },
        ]);
        await subscribe({
          groupId,
          topics: [topic],
          keyConcurrency: 2,
          maxBatchPerKey: 5,
          handler: async (record) => void singles.push(record.value!.toString()),
          batchHandler: async (records) => {
            const values = records.map((record) => record.value!.toString());
            batches.push({ key: records[0]!.key, values });
            for (const record of records) assert.equal(record.key, records[0]!.key, 'one key per batch');
            // The first batch holds key "a" while its next records queue up behind it.
            if (values[0] === 'a#0') await hold.promise;
          },
        });
        await wait(() => batches.some((batch) => batch.key === 'b'), 'key b to run while a is held');
        hold.open();
        await wait(() => batches.flatMap((batch) => batch.values).length === 9, 'every record');
        const ofA = batches.filter((batch) => batch.key === 'a');
        assert.deepEqual(
          ofA.flatMap((batch) => batch.values),
          Array.from({ length: 8 }, (_, i) => `a#${i}`),
          'order of a',
        );
        assert.ok(
          ofA.every((batch) => batch.values.length <= 5),
          `batches of at most maxBatchPerKey: ${JSON.stringify(ofA)}`,
        );
        assert.ok(
          ofA.some((batch) => batch.values.length > 1),
          `records that waited came together: ${JSON.stringify(ofA)}`,
        );
        assert.deepEqual(singles, [], 'the record handler is not used while batches succeed');
        await wait(() => allCommitted(groupId, topic), 'everything committed');
      });

      it('a failing batch goes record by record: the poison record is dead-lettered, its neighbours handled once', async () => {
        const topic = await createTopic(1);
        const groupId = unique('group');
        const hold = createGate();
        let first = true;
        const handled: string[] = [];
        const batchSizes: number[] = [];
        // k#0 starts alone and is held, so k#1..k#3 wait behind it and come as one batch, which fails on k#2.
        await bus.producer.send(
          topic,
          [0, 1, 2, 3].map((i) => ({ key: 'k', value: Buffer.from(`k#${i}`) })),
        );
        await subscribe({
          groupId,
          topics: [topic],
          retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5, jitter: false },
          handler: async (record) => {
            const value = record.value!.toString();
            if (value === 'k#2') throw new Error('poison');
            handled.push(value);
          },
          batchHandler: async (records) => {
            batchSizes.push(records.length);
            if (first) {
              first = false;
              handled.push(records[0]!.value!.toString());
              await hold.promise;
              return;
            }
            if (records.some((record) => record.value!.toString() === 'k#2')) throw new Error('poison in the batch');
            for (const record of records) handled.push(record.value!.toString());
          },
        });
        await wait(() => batchSizes.length === 1, 'the first batch to start');
        await new Promise((resolve) => setTimeout(resolve, 50));
        hold.open();
        const letters: DeadLetterEnvelope[] = [];
        await subscribe({
          groupId: unique('dlq-reader'),
          topics: [`${topic}.dlq`],
          handler: async (record) => void letters.push(decodeDeadLetterJson(record.value!)),
        });
        await wait(() => letters.length === 1 && handled.length === 3, 'the dead letter and the other records');
        assert.deepEqual(handled, ['k#0', 'k#1', 'k#3'], 'each good record once, in order');
        assert.equal(letters[0]!.originalOffset, '2');
        assert.equal(letters[0]!.attempts, 2);
        assert.deepEqual(batchSizes, [1, 3], 'the waiting records came as one batch');
        await wait(() => allCommitted(groupId, topic), 'everything committed');
      });
    });

    describe('key-ordered concurrency (keyConcurrency > 1)', () => {
      it('keeps each key in order, never runs one key twice at once, and overlaps different keys', async () => {
        const topic = await createTopic(1);
        const groupId = unique('group');
        const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
        const perKey = 8;
        const received = new Map<string, number[]>();
        const running = new Set<string>();
        const violations: string[] = [];
        let maxRunning = 0;
        // The first record of "a" waits until a record of another key has started while it runs: with one
        // record at a time per partition this never happens and the wait below times out.
        const overlap = createGate();
        let overlapped = false;
        await bus.producer.send(
          topic,
          Array.from({ length: perKey }, (_, seq) =>
            keys.map((key) => ({ key, value: Buffer.from(`${key}#${seq}`) })),
          ).flat(),
        );
        await subscribe({
          groupId,
          topics: [topic],
          keyConcurrency: 4,
          handler: async (record) => {
            const [key, seq] = record.value!.toString().split('#') as [string, string];
            if (running.has(key)) violations.push(`${key}#${seq} started while ${key} was running`);
            running.add(key);
            maxRunning = Math.max(maxRunning, running.size);
            if (key !== 'a' && running.has('a') && !overlapped) {
              overlapped = true;
              overlap.open();
            }
            if (key === 'a' && seq === '0') await overlap.promise;
            if (Number(seq) % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
            received.set(key, [...(received.get(key) ?? []), Number(seq)]);
            running.delete(key);
          },
        });
        await wait(() => overlapped, 'another key to start while "a" runs');
        await wait(
          () => [...received.values()].reduce((sum, list) => sum + list.length, 0) === keys.length * perKey,
          'every record',
        );
        for (const key of keys)
          assert.deepEqual(
            received.get(key),
            Array.from({ length: perKey }, (_, seq) => seq),
            `order of ${key}`,
          );
        assert.deepEqual(violations, []);
        assert.ok(maxRunning <= 4, `at most keyConcurrency records at once (saw ${maxRunning})`);
        assert.ok(maxRunning >= 2, 'different keys ran at once');
        await wait(() => allCommitted(groupId, topic), 'everything committed');
      });

      it('commits only below the lowest unfinished record, so a crash redelivers every unfinished record and loses none', async () => {
        const topic = await createTopic(1);
        const groupId = unique('group');
        // "stuck" sits at offset 2; 21 records of other keys follow it, and one more "stuck" record at the end.
        const values = [
          ...['k1', 'k2', 'stuck'].map((key) => ({ key, value: Buffer.from(`${key}#0`) })),
          ...Array.from({ length: 3 }, (_, seq) =>
            ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'].map((key) => ({ key, value: Buffer.from(`${key}#${seq + 1}`) })),
          ).flat(),
          { key: 'stuck', value: Buffer.from('stuck#1') },
        ];
        await bus.producer.send(topic, values);
        const total = values.length;
        const finishedByA = new Set<string>();
        const hang = createGate();
        let hungFinished = false;
        const startedByA: string[] = [];
        const a = await subscribe({
          groupId,
          topics: [topic],
          keyConcurrency: 4,
          handler: async (record) => {
            startedByA.push(idOf(record));
            if (record.key === 'stuck') {
              await hang.promise;
              hungFinished = true;
              return;
            }
            finishedByA.add(idOf(record));
          },
        });
        await wait(() => finishedByA.size === total - 2, 'every record of the other keys to finish past the stuck one');
        assert.ok(!startedByA.includes(`0@${total - 1}`), 'the second "stuck" record waits behind the first');
        // Commits are batched: wait until the group caught up with what A finished, which stops at the stuck record.
        await wait(async () => (await committed(groupId, topic)).get(0) === 2n, 'the commit to reach the stuck record');
        await a.crash();
        const snapshot = await committed(groupId, topic);
        hang.open();
        await wait(() => hungFinished, 'the stuck handler to finish after the crash');
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(await committed(groupId, topic), snapshot, 'a crashed member committed after the crash');

        const handledByB = new Set<string>();
        await subscribe({
          groupId,
          topics: [topic],
          keyConcurrency: 4,
          handler: async (record) => void handledByB.add(idOf(record)),
        });
        await wait(() => allCommitted(groupId, topic), 'B to commit everything');
        for (let offset = 2; offset < total; offset++)
          assert.ok(
            handledByB.has(`0@${offset}`),
            `record 0@${offset} at or after the lowest unfinished is redelivered`,
          );
        assert.ok(!handledByB.has('0@0') && !handledByB.has('0@1'), 'records below the committed offset are not');
        const union = new Set([...finishedByA, ...handledByB]);
        assert.equal(union.size, total, 'nothing lost');
      });

      it('dead-letters a poison record after its retries without holding up other keys; its own key waits', async () => {
        const topic = await createTopic(1);
        const groupId = unique('group');
        const others = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
        await bus.producer.send(topic, [
          { key: 'poison', value: Buffer.from('poison#0') },
          ...others.map((key) => ({ key, value: Buffer.from(`${key}#0`) })),
          { key: 'poison', value: Buffer.from('poison#1') },
        ]);
        const othersDone = createGate();
        const order: string[] = [];
        const attempts: number[] = [];
        await subscribe({
          groupId,
          topics: [topic],
          keyConcurrency: 3,
          retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5, jitter: false },
          handler: async (record, context) => {
            const value = record.value!.toString();
            if (value === 'poison#0') {
              attempts.push(context.attempt);
              // The last attempt fails only once every other key is done: a poison record that blocked the
              // partition would never let them run, and this test would time out.
              if (context.attempt === 3) await othersDone.promise;
              throw new Error('cannot handle poison');
            }
            order.push(value);
            if (others.every((key) => order.includes(`${key}#0`))) othersDone.open();
          },
        });
        const letters: DeadLetterEnvelope[] = [];
        await subscribe({
          groupId: unique('dlq-reader'),
          topics: [`${topic}.dlq`],
          handler: async (record) => void letters.push(decodeDeadLetterJson(record.value!)),
        });
        await wait(
          () => letters.length === 1 && order.includes('poison#1'),
          "the dead letter and the poison key's next record",
        );
        assert.deepEqual(attempts, [1, 2, 3]);
        assert.equal(letters[0]!.originalOffset, '0');
        assert.equal(letters[0]!.attempts, 3);
        assert.equal(order.at(-1), 'poison#1', "the poison key's next record runs only after the dead letter");
        await wait(
          async () => (await committed(groupId, topic)).get(0) === BigInt(others.length + 2),
          'everything committed',
        );
      });

      it('a rebalance lets the running records of a moving partition finish before the new owner starts it', async () => {
        const topic = await createTopic(2);
        const groupId = unique('group');
        // Four keys on each partition, all held by A until well after B joined.
        const keysOf = new Map<number, string[]>([
          [0, []],
          [1, []],
        ]);
        for (let index = 0; keysOf.get(0)!.length < 4 || keysOf.get(1)!.length < 4; index++) {
          const key = `key-${index}`;
          const list = keysOf.get(bus.partitionForKey(key, 2))!;
          if (list.length < 4) list.push(key);
        }
        const keys = [...keysOf.values()].flat();
        await bus.producer.send(
          topic,
          keys.map((key) => ({ key, value: Buffer.from(key) })),
        );
        const hold = createGate();
        const runningByA = new Map<number, number>([
          [0, 0],
          [1, 0],
        ]);
        const violations: string[] = [];
        const handled = new Set<string>();
        const a = await subscribe({
          groupId,
          topics: [topic],
          keyConcurrency: 4,
          partitionsConcurrently: 2,
          handler: async (record) => {
            runningByA.set(record.partition, runningByA.get(record.partition)! + 1);
            await hold.promise;
            runningByA.set(record.partition, runningByA.get(record.partition)! - 1);
            handled.add(record.value!.toString());
          },
        });
        await a.ready;
        await wait(() => [...runningByA.values()].every((count) => count === 4), 'A to run four records per partition');
        // The hold outlasts the start of the rebalance (immediate on the memory bus; on Kafka, A learns of it from
        // a heartbeat within ~1 s) and stays inside the rebalance timeouts (Kafka test default 5 s). The timer
        // starts before B's subscribe(), which on Kafka returns only once the group has rebalanced.
        const timer = setTimeout(hold.open, 2_500);
        const b = await subscribe({
          groupId,
          topics: [topic],
          keyConcurrency: 4,
          partitionsConcurrently: 2,
          handler: async (record) => {
            if (runningByA.get(record.partition)! > 0)
              violations.push(`B started ${record.value!.toString()} while A still ran partition ${record.partition}`);
            handled.add(record.value!.toString());
          },
        });
        try {
          await b.ready;
          await wait(() => a.assignment().length === 1 && b.assignment().length === 1, 'partitions split 1/1');
          await wait(() => handled.size === keys.length, 'every record');
          await wait(() => allCommitted(groupId, topic), 'everything committed');
        } finally {
          clearTimeout(timer);
          hold.open();
        }
        assert.deepEqual(violations, []);
      });

      it('stop() waits for every running record and commits them', async () => {
        const topic = await createTopic(1);
        const groupId = unique('group');
        await bus.producer.send(
          topic,
          ['a', 'b', 'c', 'd'].map((key) => ({ key, value: Buffer.from(key) })),
        );
        const gate = createGate();
        const started = new Set<string>();
        const finished = new Set<string>();
        const subscription = await subscribe({
          groupId,
          topics: [topic],
          keyConcurrency: 4,
          handler: async (record) => {
            started.add(record.key!);
            await gate.promise;
            finished.add(record.key!);
          },
        });
        await wait(() => started.size === 4, 'four records of four keys running at once');
        let stopped = false;
        const stopping = subscription.stop().then(() => (stopped = true));
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(stopped, false, 'stop() must wait for the running records');
        gate.open();
        await stopping;
        assert.equal(finished.size, 4);
        assert.equal((await committed(groupId, topic)).get(0), 4n, 'every finished record is committed');
      });
    });

    it('creates the dead-letter twin alongside, unless the same call names it or opts out', async () => {
      const main = unique('topic');
      const noTwin = unique('topic');
      await bus.admin.createTopics([
        { name: main, partitions: 4 },
        { name: `${main}.dlq`, partitions: 1 },
        { name: noTwin, partitions: 2, deadLetter: false },
      ]);
      assert.equal(await bus.admin.partitionCount(main), 4);
      assert.equal(await bus.admin.partitionCount(`${main}.dlq`), 1, 'the explicit twin spec wins');
      assert.equal(await bus.admin.partitionCount(noTwin), 2);
      assert.ok(!(await bus.admin.listTopics()).includes(`${noTwin}.dlq`));
      await assert.rejects(bus.admin.partitionCount(`${noTwin}.dlq`), { code: 'CM_ERR_BUS_UNKNOWN_TOPIC' });
    });

    it('admin: partition counts, watermarks, committed offsets and a replay from earliest', async () => {
      const topic = await createTopic(3);
      const groupId = unique('group');
      assert.equal(await bus.admin.partitionCount(topic), 3);
      assert.ok((await bus.admin.listTopics()).includes(topic));
      assert.ok((await bus.admin.listTopics()).includes(`${topic}.dlq`), 'the dead-letter twin is created alongside');
      assert.equal(await bus.admin.partitionCount(`${topic}.dlq`), 3);
      assert.deepEqual(
        (await bus.admin.fetchCommittedOffsets(groupId, topic)).map(({ offset }) => offset),
        ['-1', '-1', '-1'],
      );
      await bus.producer.send(
        topic,
        [0, 1, 2, 3, 4].map((index) => ({ key: null, partition: 1, value: Buffer.from(String(index)) })),
      );
      const offsets = await bus.admin.fetchTopicOffsets(topic);
      assert.deepEqual(
        offsets.sort((x, y) => x.partition - y.partition),
        [
          { partition: 0, low: '0', high: '0' },
          { partition: 1, low: '0', high: '5' },
          { partition: 2, low: '0', high: '0' },
        ],
      );
      const firstRun: string[] = [];
      const first = await subscribe({
        groupId,
        topics: [topic],
        handler: async (record) => void firstRun.push(record.value!.toString()),
      });
      await wait(() => firstRun.length === 5, 'the first run');
      await wait(async () => (await committed(groupId, topic)).get(1) === 5n, 'the first run to commit');
      await assert.rejects(bus.admin.resetCommittedOffsets(groupId, topic, 'earliest'), (error: unknown) => {
        assert.ok(error instanceof BusError);
        assert.equal(error.code, 'CM_ERR_BUS_GROUP_ACTIVE');
        return true;
      });
      await first.stop();
      await bus.admin.resetCommittedOffsets(groupId, topic, 'earliest');
      assert.equal((await committed(groupId, topic)).get(1), 0n);
      const replay: string[] = [];
      await subscribe({
        groupId,
        topics: [topic],
        handler: async (record) => void replay.push(record.value!.toString()),
      });
      await wait(() => replay.length === 5, 'the replay');
      assert.deepEqual(replay, ['0', '1', '2', '3', '4']);
    });
  });
}
