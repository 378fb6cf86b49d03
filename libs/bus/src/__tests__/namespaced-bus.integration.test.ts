/**
 * The bus contract suite through a namespaced Kafka bus (KAFKA_BROKERS when set, otherwise `startKafka()` from
 * @chatmesh/testing), and two namespaces with the same fixed group names on one broker, as two stacks would run.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startKafka, type KafkaServer } from '@chatmesh/testing';
import { createKafkaBus, createNamespacedBus, type Bus } from '../index.js';
import { runBusContractSuite } from '../testing/contract-suite.js';
import { runTransactionalContractSuite } from '../testing/transactional-suite.js';
import { encodeDeadLetterJson, waitFor } from '../testing/index.js';

const runNamespace = (): string => `it-${randomUUID().slice(0, 8)}`;

runBusContractSuite(
  'namespaced kafka bus',
  async () => {
    const kafka = await startKafka();
    const bus = createNamespacedBus(
      createKafkaBus({ brokers: kafka.brokers, clientId: 'bus-namespaced-contract', logLevel: 'nothing' }),
      runNamespace(),
    );
    return {
      bus,
      dispose: async () => {
        await bus.close();
        await kafka.stop();
      },
    };
  },
  { waitTimeoutMs: 60_000 },
);

runTransactionalContractSuite(
  'namespaced kafka bus: transactional subscriptions',
  async () => {
    const kafka = await startKafka();
    const bus = createNamespacedBus(
      createKafkaBus({ brokers: kafka.brokers, clientId: 'bus-namespaced-txn', logLevel: 'nothing' }),
      runNamespace(),
    );
    return {
      bus,
      dispose: async () => {
        await bus.close();
        await kafka.stop();
      },
    };
  },
  { waitTimeoutMs: 60_000 },
);

describe('namespaced kafka bus: two namespaces on one broker', () => {
  let kafka: KafkaServer;
  let inner: Bus;
  before(async () => {
    kafka = await startKafka();
    inner = createKafkaBus({ brokers: kafka.brokers, clientId: 'bus-namespaced-pair', logLevel: 'nothing' });
  });
  after(async () => {
    await inner?.close();
    await kafka?.stop();
  });

  it('the same topic and fixed group names in two namespaces neither share records nor partitions', async () => {
    const a = createNamespacedBus(inner, runNamespace());
    const b = createNamespacedBus(inner, runNamespace());
    // Fixed names, as the services use them: only the namespace keeps the two apart.
    const topic = 'chat.events';
    const groupId = 'chatmesh.fan-out';
    for (const bus of [a, b]) await bus.admin.createTopics([{ name: topic, partitions: 2 }]);
    assert.deepEqual((await a.admin.listTopics()).sort(), [topic, `${topic}.dlq`]);

    const seen = new Map<Bus, string[]>([
      [a, []],
      [b, []],
    ]);
    const subscriptions = await Promise.all(
      [a, b].map((bus) =>
        bus.subscribe({
          groupId,
          topics: [topic],
          deadLetter: { encode: encodeDeadLetterJson },
          handler: async (record) => {
            assert.equal(record.topic, topic);
            seen.get(bus)!.push(record.value!.toString());
          },
        }),
      ),
    );
    await Promise.all(subscriptions.map((subscription) => subscription.ready));
    // Each is the only member of its own group, so each owns both partitions of its own topic.
    for (const subscription of subscriptions) assert.equal(subscription.assignment().length, 2);

    const records = (prefix: string) =>
      Array.from({ length: 10 }, (_, i) => ({ key: `chat-${i}`, value: Buffer.from(`${prefix}${i}`) }));
    await a.producer.send(topic, records('a'));
    await b.producer.send(topic, records('b'));
    await waitFor(() => seen.get(a)!.length === 10 && seen.get(b)!.length === 10, {
      timeoutMs: 60_000,
      description: 'ten records in each namespace',
    });
    assert.ok(seen.get(a)!.every((text) => text.startsWith('a')));
    assert.ok(seen.get(b)!.every((text) => text.startsWith('b')));
    await Promise.all(subscriptions.map((subscription) => subscription.stop()));
    for (const bus of [a, b]) {
      const committed = await bus.admin.fetchCommittedOffsets(groupId, topic);
      assert.equal(
        committed.reduce((sum, entry) => sum + Number(entry.offset), 0),
        10,
        'each group committed its own ten records',
      );
    }
  });
});
