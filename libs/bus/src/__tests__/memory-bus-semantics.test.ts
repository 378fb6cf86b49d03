import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusError, createMemoryBus, type BusInstrumentation } from '../index.js';
import { createGate, decodeDeadLetterJson, encodeDeadLetterJson, waitFor } from '../testing/index.js';

describe('memory bus: semantics beyond the shared contract', () => {
  it('delivers on a later tick, never inside send', async () => {
    const bus = createMemoryBus();
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      const seen: string[] = [];
      const subscription = await bus.subscribe({
        groupId: 'g',
        topics: ['t'],
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async (r) => void seen.push(r.offset),
      });
      await subscription.ready;
      const sending = bus.producer.send('t', [{ key: 'k', value: Buffer.from('v') }]);
      assert.deepEqual(seen, []);
      assert.deepEqual(await sending, [{ topic: 't', partition: 0, offset: '0' }]);
      assert.deepEqual(seen, [], 'the handler runs after send resolved');
      await waitFor(() => seen.length === 1);
    } finally {
      await bus.close();
    }
  });

  it('refuses a keyConcurrency that is not an integer >= 1', async () => {
    const bus = createMemoryBus();
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      for (const keyConcurrency of [0, 1.5, -1]) {
        await assert.rejects(
          bus.subscribe({
            groupId: 'g',
            topics: ['t'],
            keyConcurrency,
            deadLetter: { encode: encodeDeadLetterJson },
            handler: async () => undefined,
          }),
          (error: unknown) => error instanceof BusError && error.code === 'CM_ERR_BUS_INVALID_OPTIONS',
        );
      }
    } finally {
      await bus.close();
    }
  });

  it('fromBeginning: false starts a new group at the end of the log', async () => {
    const bus = createMemoryBus();
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 2 }]);
      await bus.producer.send('t', [{ key: 'old', value: Buffer.from('old') }]);
      const seen: string[] = [];
      const subscription = await bus.subscribe({
        groupId: 'g',
        topics: ['t'],
        fromBeginning: false,
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async (r) => void seen.push(r.key!),
      });
      await subscription.ready;
      await bus.producer.send('t', [{ key: 'new', value: Buffer.from('new') }]);
      await waitFor(() => seen.length === 1);
      assert.deepEqual(seen, ['new']);
    } finally {
      await bus.close();
    }
  });

  it('a rebalance drops an owner that does not finish its in-flight record within rebalanceTimeoutMs, without committing', async () => {
    const bus = createMemoryBus({ rebalanceTimeoutMs: 50 });
    const stuck = createGate();
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 2 }]);
      const p0Key = ['a', 'b', 'c', 'd', 'e'].find((key) => bus.partitionForKey(key, 2) === 0)!;
      const p1Key = ['a', 'b', 'c', 'd', 'e'].find((key) => bus.partitionForKey(key, 2) === 1)!;
      await bus.producer.send('t', [
        { key: p0Key, value: Buffer.from('0') },
        { key: p1Key, value: Buffer.from('1') },
      ]);
      let stuckStarted = 0;
      const first = await bus.subscribe({
        groupId: 'g',
        topics: ['t'],
        partitionsConcurrently: 2,
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async () => {
          stuckStarted++;
          await stuck.promise;
        },
      });
      await waitFor(() => stuckStarted === 2);
      const second = await bus.subscribe({
        groupId: 'g',
        topics: ['t'],
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async () => undefined,
      });
      await second.ready;
      // One partition moved to the second member despite the stuck owner; its record is redelivered and committed there.
      assert.equal(second.assignment().length, 1);
      const moved = second.assignment()[0]!.partition;
      await waitFor(async () => (await bus.admin.fetchCommittedOffsets('g', 't'))[moved]!.offset === '1');
      stuck.open();
      await first.stop();
    } finally {
      stuck.open();
      await bus.close();
    }
  });

  it('keeps a record uncommitted and redelivers it when its dead-letter write fails', async () => {
    const bus = createMemoryBus({ deadLetterFailureBackoffMs: 5 });
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      await bus.producer.send('t', [{ key: 'k', value: Buffer.from('poison') }]);
      let encodeCalls = 0;
      await bus.subscribe({
        groupId: 'g',
        topics: ['t'],
        retry: { maxAttempts: 1 },
        deadLetter: {
          encode: async (envelope) => {
            encodeCalls++;
            if (encodeCalls < 3) throw new Error('registry down');
            return encodeDeadLetterJson(envelope);
          },
        },
        handler: async () => {
          throw new Error('bad');
        },
      });
      const letters: unknown[] = [];
      await bus.subscribe({
        groupId: 'reader',
        topics: ['t.dlq'],
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async (r) => void letters.push(decodeDeadLetterJson(r.value!)),
      });
      await waitFor(() => letters.length === 1);
      assert.equal(encodeCalls, 3);
      assert.equal((await bus.admin.fetchCommittedOffsets('g', 't'))[0]!.offset, '1');
    } finally {
      await bus.close();
    }
  });

  it('reports produced, handled, lag and rebalance events', async () => {
    const events: string[] = [];
    const instrumentation: BusInstrumentation = {
      onProduced: (e) => events.push(`produced ${e.topic} ${e.records}`),
      onHandled: (e) => events.push(`handled ${e.outcome}`),
      onLag: (e) => events.push(`lag ${e.partition} ${e.lag}`),
      onRebalance: (e) => events.push(`rebalance ${e.assigned.length}`),
    };
    const bus = createMemoryBus({ instrumentation });
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      await bus.producer.send('t', [
        { key: 'k', value: Buffer.from('1') },
        { key: 'k', value: Buffer.from('2') },
      ]);
      let calls = 0;
      const subscription = await bus.subscribe({
        groupId: 'g',
        topics: ['t'],
        retry: { maxAttempts: 2, initialDelayMs: 1, jitter: false },
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async () => {
          if (++calls === 1) throw new Error('once');
        },
      });
      await waitFor(async () => (await bus.admin.fetchCommittedOffsets('g', 't'))[0]!.offset === '2');
      await subscription.stop();
      assert.deepEqual(events, [
        'produced t 2',
        'rebalance 1',
        'handled retry',
        'handled ok',
        'lag 0 1',
        'handled ok',
        'lag 0 0',
      ]);
    } finally {
      await bus.close();
    }
  });

  it('refuses subscriptions whose topic or dead-letter twin is missing, and any use after close', async () => {
    const bus = createMemoryBus();
    await bus.admin.createTopics([{ name: 'no-twin', partitions: 1, deadLetter: false }]);
    const subscribe = (topic: string) =>
      bus.subscribe({
        groupId: 'g',
        topics: [topic],
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async () => undefined,
      });
    await assert.rejects(
      subscribe('missing'),
      (e: unknown) => e instanceof BusError && e.code === 'CM_ERR_BUS_UNKNOWN_TOPIC' && e.topic === 'missing',
    );
    await assert.rejects(
      subscribe('no-twin'),
      (e: unknown) => e instanceof BusError && e.code === 'CM_ERR_BUS_UNKNOWN_TOPIC' && e.topic === 'no-twin.dlq',
    );
    await assert.rejects(
      bus.subscribe({ groupId: '', topics: [], handler: async () => undefined, deadLetter: undefined as never }),
      (e: unknown) =>
        e instanceof BusError &&
        e.code === 'CM_ERR_BUS_INVALID_OPTIONS' &&
        /groupId/.test(e.message) &&
        /deadLetter/.test(e.message),
    );
    await assert.rejects(bus.producer.send('no-twin', [{ key: null, partition: 3, value: null }]), {
      code: 'CM_ERR_BUS_INVALID_PARTITION',
    });
    await bus.close();
    await assert.rejects(bus.producer.send('no-twin', [{ key: 'k', value: null }]), { code: 'CM_ERR_BUS_CLOSED' });
  });
});
