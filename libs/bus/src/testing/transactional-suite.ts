/**
 * The contract of transactional subscriptions (consume-transform-produce with fencing), run against both buses:
 * staged outputs become visible with their record's commit and only then; a failed attempt's outputs never do;
 * a member that lost its partition while it was stuck (a zombie) can neither publish nor commit once it resumes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Bus, BusRecord, HandlerContext, RecordHandler, Subscription } from '../types.js';
import { collectRecords } from './collect-records.js';
import { encodeDeadLetterJson, type BusContractTarget } from './contract-suite.js';
import { createGate, waitFor } from './wait-for.js';

/** Options of {@link runTransactionalContractSuite}. */
export interface TransactionalSuiteOptions {
  /** How long each wait may take. @default 10000 */
  readonly waitTimeoutMs?: number;
}

const unique = (prefix: string): string => `test-${prefix}-${randomUUID().slice(0, 8)}`;

/**
 * Registers the transactional tests under `describe(name)`. The target's bus must give up on a member that does
 * not let go of a partition within a few seconds (its rebalance timeout), which is how the zombie is made.
 */
export function runTransactionalContractSuite(
  name: string,
  makeTarget: () => Promise<BusContractTarget>,
  options: TransactionalSuiteOptions = {},
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
      await Promise.allSettled(live.map((subscription) => subscription.stop()));
      await target?.dispose?.();
    });

    const topics = async (partitions: number): Promise<{ input: string; output: string }> => {
      const input = unique('txn-in');
      const output = unique('txn-out');
      await bus.admin.createTopics([
        { name: input, partitions },
        { name: output, partitions: 2 },
      ]);
      return { input, output };
    };
    const subscribe = async (groupId: string, topic: string, handler: RecordHandler, keyConcurrency = 1) => {
      const subscription = await bus.subscribe({
        groupId,
        topics: [topic],
        transactional: true,
        keyConcurrency,
        retry: { maxAttempts: 3, initialDelayMs: 10 },
        deadLetter: { encode: encodeDeadLetterJson },
        handler,
      });
      live.push(subscription);
      return subscription;
    };
    const stage = (context: HandlerContext, topic: string, key: string, value: string): void => {
      assert.ok(context.produce, 'a transactional handler can stage outputs');
      context.produce(topic, [{ key, value: Buffer.from(value) }]);
    };
    const values = (records: readonly BusRecord[]): string[] => records.map((record) => record.value!.toString());

    it('publishes what the successful attempt staged, with the commit, exactly once per record', async () => {
      const { input, output } = await topics(3);
      const groupId = unique('group');
      const out = await collectRecords(bus, output);
      const inputs = Array.from({ length: 30 }, (_, index) => ({
        key: `k${index % 7}`,
        value: Buffer.from(`m${index}`),
      }));
      await bus.producer.send(input, inputs);
      const assignmentIds = new Set<string>();
      let failedOnce = false;
      await subscribe(
        groupId,
        input,
        async (record, context) => {
          assignmentIds.add(`${record.partition}/${context.assignmentId}`);
          const value = record.value!.toString();
          if (value === 'm5' && !failedOnce) {
            failedOnce = true;
            stage(context, output, record.key!, 'from-a-failed-attempt');
            throw new Error('transient');
          }
          stage(context, output, record.key!, `out-${value}`);
        },
        4,
      );
      await wait(() => out.length >= 30, 'an output per input');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(values(out).sort(), inputs.map((record) => `out-${record.value.toString()}`).sort());
      assert.equal(failedOnce, true);
      // One ownership per partition: every record of a partition saw the same assignment id.
      assert.equal(new Set([...assignmentIds].map((entry) => entry.split('/')[0])).size, assignmentIds.size);
      const committed = await bus.admin.fetchCommittedOffsets(groupId, input);
      const high = await bus.admin.fetchTopicOffsets(input);
      for (const { partition, high: end } of high) {
        assert.equal(committed.find((entry) => entry.partition === partition)?.offset, end, `partition ${partition}`);
      }
    });

    it('batches per key: a batch publishes what it staged once; a failed batch publishes nothing, its records redo one by one', async () => {
      const { input, output } = await topics(1);
      const groupId = unique('group');
      const out = await collectRecords(bus, output);
      const inputs = Array.from({ length: 40 }, (_, index) => ({
        key: `k${index % 2}`,
        value: Buffer.from(`m${index}`),
      }));
      await bus.producer.send(input, inputs);
      const batchSizes: number[] = [];
      let failedBatch = false;
      const subscription = await bus.subscribe({
        groupId,
        topics: [input],
        transactional: true,
        keyConcurrency: 2,
        maxBatchPerKey: 8,
        retry: { maxAttempts: 3, initialDelayMs: 10 },
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async (record, context) => stage(context, output, record.key!, `out-${record.value!.toString()}`),
        batchHandler: async (records, context) => {
          batchSizes.push(records.length);
          for (const record of records) stage(context, output, record.key!, `out-${record.value!.toString()}`);
          // The first batch of several records fails after staging everything: none of it may be published.
          if (records.length > 1 && !failedBatch) {
            failedBatch = true;
            throw new Error('transient');
          }
        },
      });
      live.push(subscription);
      await wait(() => out.length >= 40, 'an output per input');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(values(out).sort(), inputs.map((record) => `out-${record.value.toString()}`).sort());
      assert.equal(failedBatch, true, `a batch of several records formed: ${batchSizes}`);
      for (const key of ['k0', 'k1']) {
        const ofKey = out
          .filter((record) => record.key === key)
          .map((record) => Number(record.value!.toString().slice(5)));
        assert.deepEqual(
          ofKey,
          [...ofKey].sort((a, b) => a - b),
          `outputs of ${key} in input order`,
        );
      }
    });

    it('consumers of a transactionally written topic commit past its transaction markers, so a drained group has no lag', async () => {
      const { input, output } = await topics(2);
      await bus.producer.send(
        input,
        Array.from({ length: 12 }, (_, index) => ({ key: `k${index}`, value: Buffer.from(String(index)) })),
      );
      await subscribe(unique('group'), input, async (record, context) =>
        stage(context, output, record.key!, record.value!.toString()),
      );
      for (const keyConcurrency of [1, 4]) {
        const groupId = unique('reader');
        let seen = 0;
        await bus
          .subscribe({
            groupId,
            topics: [output],
            keyConcurrency,
            deadLetter: { encode: encodeDeadLetterJson },
            handler: async () => void seen++,
          })
          .then((subscription) => live.push(subscription));
        await wait(() => seen >= 12, `every output read (keyConcurrency ${keyConcurrency})`);
        await wait(async () => {
          const [committed, high] = await Promise.all([
            bus.admin.fetchCommittedOffsets(groupId, output),
            bus.admin.fetchTopicOffsets(output),
          ]);
          return high.every(
            ({ partition, high: end }) =>
              end === '0' || committed.find((entry) => entry.partition === partition)?.offset === end,
          );
        }, `the reader's committed offsets to reach the high watermarks (keyConcurrency ${keyConcurrency})`);
      }
    });

    it('keeps the outputs of one key in the order of its records', async () => {
      const { input, output } = await topics(1);
      const out = await collectRecords(bus, output);
      await bus.producer.send(
        input,
        Array.from({ length: 40 }, (_, index) => ({ key: `k${index % 4}`, value: Buffer.from(String(index)) })),
      );
      await subscribe(
        unique('group'),
        input,
        async (record, context) => {
          if (Number(record.value!.toString()) % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 3));
          stage(context, output, 'one-key', `${record.key}:${record.value!.toString()}`);
        },
        4,
      );
      await wait(() => out.length >= 40, 'every output');
      for (const key of ['k0', 'k1', 'k2', 'k3']) {
        const seen = values(out)
          .filter((value) => value.startsWith(`${key}:`))
          .map((value) => Number(value.split(':')[1]));
        assert.deepEqual(
          seen,
          [...seen].sort((a, b) => a - b),
          `order of ${key}`,
        );
      }
    });

    it('fences a zombie: a handler stuck across a rebalance resumes after the partition was handled again, and its staged outputs never appear', async () => {
      // Two partitions and a second member: the rebalance its join causes takes partition 1 away from the stuck
      // handler's ownership (the memory bus kills the stuck worker after its rebalance timeout; on Kafka the member
      // rejoins, and whichever member owns partition 1 next, here or there, handles "x" again on a new producer).
      const { input, output } = await topics(2);
      const groupId = unique('group');
      const out = await collectRecords(bus, output);
      const stuck = createGate();
      const resumed = createGate();
      let stuckStaged = false;
      let zombieConfirmation = 'not asked';
      const handled = new Map<string, number>();
      // The first attempt at "x" stages its output, then hangs (a process paused by SIGSTOP or a long GC).
      const handler: RecordHandler = async (record, context) => {
        const value = record.value!.toString();
        const times = (handled.get(value) ?? 0) + 1;
        handled.set(value, times);
        if (value === 'x' && times === 1) {
          stage(context, output, record.key!, 'stuck-x');
          stuckStaged = true;
          await stuck.promise;
          // What a writer does after claiming a store epoch late: it must learn here that it is a zombie.
          zombieConfirmation = await context.confirmOwnership!().then(
            () => 'confirmed',
            () => 'refused',
          );
          resumed.open();
          return;
        }
        await context.confirmOwnership!();
        stage(context, output, record.key!, `done-${value}`);
      };
      await subscribe(groupId, input, handler);
      await bus.producer.send(input, [{ key: 'chat', value: Buffer.from('x'), partition: 1 }]);
      await wait(() => stuckStaged, 'the first member to stage its output and hang');
      await subscribe(groupId, input, handler);
      await wait(() => values(out).includes('done-x'), 'the partition\'s next owner to redo "x" and publish');
      await bus.producer.send(input, [{ key: 'chat', value: Buffer.from('y'), partition: 1 }]);
      await wait(() => values(out).includes('done-y'), 'the owner to handle "y"');
      // The zombie resumes: its handler resolves, but its ownership is refused and its output discarded.
      stuck.open();
      await resumed.promise;
      assert.equal(zombieConfirmation, 'refused');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.deepEqual(values(out), ['done-x', 'done-y']);
      await wait(
        async () =>
          (await bus.admin.fetchCommittedOffsets(groupId, input)).find((entry) => entry.partition === 1)?.offset ===
          '2',
        'the owner to commit both',
      );
    });
  });
}
