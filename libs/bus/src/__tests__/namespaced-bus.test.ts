import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BusError,
  createMemoryBus,
  createNamespacedBus,
  namespacedInstrumentation,
  stripNamespace,
  type Bus,
  type BusInstrumentation,
  type BusRecord,
  type HandlerContext,
  type SubscribeOptions,
} from '../index.js';
import {
  collectRecords,
  decodeDeadLetterJson,
  encodeDeadLetterJson,
  runBusContractSuite,
  runTransactionalContractSuite,
  waitFor,
} from '../testing/index.js';

runBusContractSuite('namespaced memory bus', async () => {
  const inner = createMemoryBus();
  // Another namespace on the same inner bus runs alongside: the suite must not notice it.
  const neighbour = createNamespacedBus(inner, 'neighbour');
  await neighbour.admin.createTopics([{ name: 'noise', partitions: 2 }]);
  await neighbour.producer.send('noise', [{ key: 'k', value: Buffer.from('n') }]);
  return { bus: createNamespacedBus(inner, 'contract'), dispose: () => inner.close() };
});

runTransactionalContractSuite('namespaced memory bus: transactional subscriptions', async () => {
  const inner = createMemoryBus({ rebalanceTimeoutMs: 1_000 });
  return { bus: createNamespacedBus(inner, 'txn'), dispose: () => inner.close() };
});

const value = (text: string): Buffer => Buffer.from(text);

async function withInner(run: (inner: Bus) => Promise<void>, instrumentation?: BusInstrumentation): Promise<void> {
  const inner = createMemoryBus(instrumentation ? { instrumentation } : {});
  try {
    await run(inner);
  } finally {
    await inner.close();
  }
}

describe('namespaced bus', () => {
  it('prefixes topics and groups on the inner bus and shows logical names to its users', () =>
    withInner(async (inner) => {
      const bus = createNamespacedBus(inner, 'stack-a');
      await bus.admin.createTopics([{ name: 'chat.events', partitions: 2 }]);
      assert.deepEqual((await inner.admin.listTopics()).sort(), ['stack-a.chat.events', 'stack-a.chat.events.dlq']);
      assert.deepEqual((await bus.admin.listTopics()).sort(), ['chat.events', 'chat.events.dlq']);
      assert.equal(await bus.admin.partitionCount('chat.events'), 2);

      const [sent] = await bus.producer.send('chat.events', [{ key: 'chat-1', value: value('v') }]);
      assert.equal(sent?.topic, 'chat.events');
      const partition = bus.partitionForKey('chat-1', 2);
      const innerOffsets = await inner.admin.fetchTopicOffsets('stack-a.chat.events');
      assert.equal(innerOffsets.find((entry) => entry.partition === partition)?.high, '1');
      assert.deepEqual(await bus.admin.fetchTopicOffsets('chat.events'), innerOffsets);

      const seen: Array<{ record: BusRecord; context: HandlerContext }> = [];
      const subscription = await bus.subscribe({
        groupId: 'fan-out',
        topics: ['chat.events'],
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async (record, context) => void seen.push({ record, context }),
      });
      await subscription.ready;
      assert.equal(subscription.groupId, 'fan-out');
      assert.deepEqual(
        subscription
          .assignment()
          .map((owned) => owned.topic)
          .sort(),
        ['chat.events', 'chat.events'],
      );
      await waitFor(() => seen.length === 1, { description: 'the record' });
      assert.equal(seen[0]?.record.topic, 'chat.events');
      assert.equal(seen[0]?.context.groupId, 'fan-out');
      await waitFor(
        async () =>
          (await inner.admin.fetchCommittedOffsets('stack-a.fan-out', 'stack-a.chat.events')).some(
            (entry) => entry.offset === '1',
          ),
        { description: 'the commit under the physical group and topic' },
      );
      assert.deepEqual(
        await bus.admin.fetchCommittedOffsets('fan-out', 'chat.events'),
        await inner.admin.fetchCommittedOffsets('stack-a.fan-out', 'stack-a.chat.events'),
      );
      await subscription.stop();

      await bus.admin.resetCommittedOffsets('fan-out', 'chat.events', 'earliest');
      const committed = await inner.admin.fetchCommittedOffsets('stack-a.fan-out', 'stack-a.chat.events');
      assert.ok(
        committed.every((entry) => entry.offset === '0' || entry.offset === '-1'),
        JSON.stringify(committed),
      );
    }));

  it('keeps two namespaces on one inner bus apart: topics, records, groups and committed offsets', () =>
    withInner(async (inner) => {
      const a = createNamespacedBus(inner, 'a');
      const b = createNamespacedBus(inner, 'b');
      await a.admin.createTopics([{ name: 'user.inbox', partitions: 1 }]);
      await b.admin.createTopics([
        { name: 'user.inbox', partitions: 1 },
        { name: 'only-b', partitions: 1 },
      ]);
      await inner.admin.createTopics([{ name: 'plain', partitions: 1 }]);
      assert.deepEqual((await a.admin.listTopics()).sort(), ['user.inbox', 'user.inbox.dlq']);
      assert.deepEqual((await b.admin.listTopics()).sort(), ['only-b', 'only-b.dlq', 'user.inbox', 'user.inbox.dlq']);
      await assert.rejects(a.producer.send('only-b', [{ key: 'k', value: value('x') }]), {
        code: 'CM_ERR_BUS_UNKNOWN_TOPIC',
      });

      const seenByA: string[] = [];
      const seenByB: string[] = [];
      const subscribe = (bus: Bus, seen: string[]) =>
        bus.subscribe({
          groupId: 'chatmesh.fan-out',
          topics: ['user.inbox'],
          deadLetter: { encode: encodeDeadLetterJson },
          handler: async (record) => void seen.push(record.value!.toString()),
        });
      const subA = await subscribe(a, seenByA);
      const subB = await subscribe(b, seenByB);
      await Promise.all([subA.ready, subB.ready]);
      // Same group name in both namespaces: each is the only member of its own group and owns the partition.
      assert.equal(subA.assignment().length, 1);
      assert.equal(subB.assignment().length, 1);

      await a.producer.send('user.inbox', [
        { key: 'u', value: value('a1') },
        { key: 'u', value: value('a2') },
      ]);
      await b.producer.send('user.inbox', [{ key: 'u', value: value('b1') }]);
      await waitFor(() => seenByA.length === 2 && seenByB.length === 1, { description: 'both namespaces' });
      await waitFor(
        async () => (await a.admin.fetchCommittedOffsets('chatmesh.fan-out', 'user.inbox'))[0]?.offset === '2',
        { description: "a's commit" },
      );
      await waitFor(
        async () => (await b.admin.fetchCommittedOffsets('chatmesh.fan-out', 'user.inbox'))[0]?.offset === '1',
        { description: "b's commit" },
      );
      await Promise.all([subA.stop(), subB.stop()]);
      assert.deepEqual(seenByA, ['a1', 'a2']);
      assert.deepEqual(seenByB, ['b1']);
    }));

  it('dead-letters to the namespaced twin with the logical topic and group in the envelope, so a replay stays inside', () =>
    withInner(async (inner) => {
      const bus = createNamespacedBus(inner, 'ns');
      await bus.admin.createTopics([
        { name: 'receipts', partitions: 1 },
        { name: 'parked', partitions: 1 },
      ]);
      let failing = true;
      const handled: string[] = [];
      const twins: string[] = [];
      const subscription = await bus.subscribe({
        groupId: 'chatmesh.receipts',
        topics: ['receipts'],
        retry: { maxAttempts: 1 },
        deadLetter: {
          encode: encodeDeadLetterJson,
          topicFor: (topic) => {
            twins.push(topic);
            return 'parked';
          },
        },
        handler: async (record) => {
          if (failing) throw new Error('poison');
          handled.push(record.value!.toString());
        },
      });
      await subscription.ready;
      await bus.producer.send('receipts', [{ key: 'chat-1', value: value('r1') }]);
      const letters = await collectRecords(bus, 'parked');
      await waitFor(() => letters.length === 1, { description: 'the dead letter' });
      assert.ok(
        twins.length > 0 && twins.every((topic) => topic === 'receipts'),
        'topicFor is asked with the logical name',
      );
      assert.equal(letters[0]?.topic, 'parked');
      assert.equal((await inner.admin.fetchTopicOffsets('ns.parked'))[0]?.high, '1');
      const envelope = decodeDeadLetterJson(letters[0]!.value!);
      assert.equal(envelope.originalTopic, 'receipts');
      assert.equal(envelope.groupId, 'chatmesh.receipts');
      assert.equal(envelope.errorCode, 'CM_ERR_BUS_HANDLER_FAILED');

      // A replay tool on a bus of the same namespace produces to originalTopic as it reads it.
      failing = false;
      await bus.producer.send(envelope.originalTopic, [{ key: envelope.originalKey, value: envelope.originalValue }]);
      await waitFor(() => handled.length === 1, { description: 'the replayed record' });
      assert.deepEqual(handled, ['r1']);
      await subscription.stop();
    }));

  it('uses the default twin <namespace>.<topic>.dlq', () =>
    withInner(async (inner) => {
      const bus = createNamespacedBus(inner, 'ns');
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      const subscription = await bus.subscribe({
        groupId: 'g',
        topics: ['t'],
        retry: { maxAttempts: 1 },
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async () => {
          throw new Error('poison');
        },
      });
      await bus.producer.send('t', [{ key: 'k', value: value('x') }]);
      await waitFor(async () => (await inner.admin.fetchTopicOffsets('ns.t.dlq'))[0]?.high === '1', {
        description: 'the dead letter on ns.t.dlq',
      });
      await subscription.stop();
    }));

  it('passes every other subscription option on unchanged, including ones it does not know', async () => {
    let received: SubscribeOptions | undefined;
    const fake = {
      ...createMemoryBus(),
      subscribe: async (options: SubscribeOptions) => {
        received = options;
        return {
          groupId: options.groupId,
          ready: Promise.resolve(),
          assignment: () => [],
          stop: async () => {},
          crash: async () => {},
        };
      },
    } as Bus;
    const bus = createNamespacedBus(fake, 'ns');
    const subscription = await bus.subscribe({
      groupId: 'g',
      topics: ['t1', 't2'],
      handler: async () => undefined,
      deadLetter: { encode: encodeDeadLetterJson },
      keyConcurrency: 8,
      partitionsConcurrently: 3,
      transactional: true,
      fromBeginning: false,
      retryAll: false,
      retry: { maxAttempts: 2 },
      someFutureOption: { batch: 7 },
    } as SubscribeOptions);
    assert.equal(subscription.groupId, 'g');
    const forwarded = received as SubscribeOptions & { someFutureOption?: unknown };
    assert.equal(forwarded.groupId, 'ns.g');
    assert.deepEqual(forwarded.topics, ['ns.t1', 'ns.t2']);
    assert.equal(forwarded.keyConcurrency, 8);
    assert.equal(forwarded.partitionsConcurrently, 3);
    assert.equal(forwarded.transactional, true);
    assert.equal(forwarded.fromBeginning, false);
    assert.equal(forwarded.retryAll, false);
    assert.deepEqual(forwarded.retry, { maxAttempts: 2 });
    assert.deepEqual(forwarded.someFutureOption, { batch: 7 });
    assert.equal(forwarded.deadLetter.topicFor?.('ns.t1'), 'ns.t1.dlq');
  });

  it('lets the inner bus report malformed subscription options as usual', () =>
    withInner(async (inner) => {
      const bus = createNamespacedBus(inner, 'ns');
      await assert.rejects(
        bus.subscribe({ groupId: '', topics: [], handler: async () => undefined } as unknown as SubscribeOptions),
        (error: unknown) => error instanceof BusError && error.code === 'CM_ERR_BUS_INVALID_OPTIONS',
      );
    }));

  it('refuses an invalid namespace with CM_ERR_BUS_INVALID_NAMESPACE; an empty one means no namespace', () => {
    const inner = createMemoryBus();
    for (const namespace of ['a.b', 'with space', 'x'.repeat(65), 'ünï', '.']) {
      assert.throws(
        () => createNamespacedBus(inner, namespace),
        (error: unknown) => error instanceof BusError && error.code === 'CM_ERR_BUS_INVALID_NAMESPACE',
        namespace,
      );
    }
    assert.equal(createNamespacedBus(inner, ''), inner);
    assert.equal(createNamespacedBus(inner, 'x'.repeat(64)).kind, 'memory');
    assert.equal(createNamespacedBus(inner, 'Bench_1-a').kind, 'memory');
    assert.equal(stripNamespace('a', 'a.b.c'), 'b.c');
    assert.equal(stripNamespace('a', 'ab.c'), 'ab.c');
  });

  it('namespacedInstrumentation reports logical topics and groups', async () => {
    const events: string[] = [];
    const instrumentation = namespacedInstrumentation(
      {
        onProduced: ({ topic }) => void events.push(`produced ${topic}`),
        onHandled: ({ groupId, topic, outcome }) => void events.push(`handled ${groupId} ${topic} ${outcome}`),
        onRebalance: ({ groupId, assigned }) =>
          void events.push(`rebalance ${groupId} ${assigned.map((owned) => owned.topic).join(',')}`),
      },
      'ns',
    );
    assert.equal(instrumentation.onLag, undefined, 'no hook is added that the wrapped instrumentation lacks');
    await withInner(async (inner) => {
      const bus = createNamespacedBus(inner, 'ns');
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      const subscription = await bus.subscribe({
        groupId: 'g',
        topics: ['t'],
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async () => undefined,
      });
      await subscription.ready;
      await bus.producer.send('t', [{ key: 'k', value: value('x') }]);
      await waitFor(() => events.includes('handled g t ok'), { description: 'the handled event' });
      await subscription.stop();
    }, instrumentation);
    assert.ok(events.includes('produced t'), events.join('; '));
    assert.ok(events.includes('rebalance g t'), events.join('; '));
    assert.ok(
      events.every((event) => !event.includes('ns.')),
      events.join('; '),
    );
    const plain: BusInstrumentation = {};
    assert.equal(namespacedInstrumentation(plain, ''), plain);
  });
});
