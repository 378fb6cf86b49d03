/**
 * What only the Kafka bus has: topic configs really applied on the broker, instrumentation from kafkajs events,
 * error mapping of a real broker refusal. Kafka from `startKafka()` (KAFKA_BROKERS, or the native broker).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { startKafka, type KafkaServer } from '@chatmesh/testing';
import { BusError, createKafkaBus, type Bus } from '../index.js';
import { encodeDeadLetterJson, waitFor } from '../testing/index.js';

describe('kafka bus specifics', () => {
  let kafka: KafkaServer;
  const events: string[] = [];
  const lags: number[] = [];
  let bus: Bus;
  let admin: kafkajs.Admin;

  before(async () => {
    kafka = await startKafka();
    const { brokers } = kafka;
    bus = createKafkaBus({
      brokers,
      logLevel: 'nothing',
      instrumentation: {
        onProduced: (e) => events.push(`produced ${e.records}`),
        onHandled: (e) => events.push(`handled ${e.outcome}`),
        onLag: (e) => lags.push(e.lag),
        onRebalance: (e) => events.push(`rebalance ${e.assigned.length}`),
      },
    });
    admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
  });
  after(async () => {
    await bus?.close();
    await admin?.disconnect();
    await kafka?.stop();
  });

  it('creates topics with their partitions and configs, and the twin with the same ones', async () => {
    const name = `test-configs-${randomUUID().slice(0, 8)}`;
    await bus.admin.createTopics([{ name, partitions: 3, cleanupPolicy: 'compact', retentionMs: 3_600_000 }]);
    // Creating again is a no-op, as the contract says.
    await bus.admin.createTopics([{ name, partitions: 3, cleanupPolicy: 'compact', retentionMs: 3_600_000 }]);
    for (const topic of [name, `${name}.dlq`]) {
      assert.equal(await bus.admin.partitionCount(topic), 3);
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy', 'retention.ms'] },
        ],
      });
      const entries = Object.fromEntries(
        resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]),
      );
      assert.deepEqual(entries, { 'cleanup.policy': 'compact', 'retention.ms': '3600000' }, topic);
    }
  });

  it('concurrent sends on the one idempotent producer all land, each with its own offset (kafkajs #598)', async () => {
    const name = `test-concurrent-${randomUUID().slice(0, 8)}`;
    await bus.admin.createTopics([{ name, partitions: 4 }]);
    // 40 callers at once, as partition handlers do: without the send queue kafkajs mixes their sequence numbers.
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, caller) =>
        bus.producer.send(
          name,
          Array.from({ length: 25 }, (_, i) => ({
            key: `k${(caller * 25 + i) % 16}`,
            value: Buffer.from(`${caller}:${i}`),
          })),
        ),
      ),
    );
    const slots = results.flat().map((m) => `${m.partition}@${m.offset}`);
    assert.equal(slots.length, 1000);
    assert.equal(new Set(slots).size, 1000, 'every record has its own (partition, offset)');
    const offsets = await bus.admin.fetchTopicOffsets(name);
    const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    assert.equal(total, 1000, 'the topic holds exactly the records sent');
    // A record too large for the broker fails alone; the requests batched with it still land.
    const [big, small] = await Promise.allSettled([
      bus.producer.send(name, [{ key: 'big', value: Buffer.alloc(2 * 1024 * 1024) }]),
      bus.producer.send(name, [{ key: 'small', value: Buffer.from('ok') }]),
    ]);
    assert.equal(big.status, 'rejected');
    assert.equal(small.status, 'fulfilled');
  });

  it('maps a broker refusal to a coded BusError', async () => {
    await assert.rejects(
      bus.admin.createTopics([{ name: `test-bad-${randomUUID().slice(0, 8)}`, partitions: 1, retentionMs: -5 }]),
      (error: unknown) => {
        assert.ok(error instanceof BusError, String(error));
        assert.equal(error.code, 'CM_ERR_BUS_INVALID_REQUEST');
        assert.equal(error.retriable, false);
        return true;
      },
    );
  });

  it('reports rebalance, produced, handled and lag events; ready resolves after the group join', async () => {
    const topic = `test-events-${randomUUID().slice(0, 8)}`;
    await bus.admin.createTopics([{ name: topic, partitions: 1 }]);
    await bus.producer.send(
      topic,
      [0, 1, 2].map((index) => ({ key: 'k', value: Buffer.from(String(index)) })),
    );
    let handled = 0;
    const subscription = await bus.subscribe({
      groupId: `test-${randomUUID().slice(0, 8)}`,
      topics: [topic],
      deadLetter: { encode: encodeDeadLetterJson },
      handler: async () => void handled++,
    });
    await subscription.ready;
    assert.deepEqual(subscription.assignment(), [{ topic, partition: 0 }]);
    await waitFor(() => handled === 3 && lags.includes(0), { timeoutMs: 30_000 });
    assert.ok(events.includes('produced 3'));
    assert.ok(events.includes('rebalance 1'));
    assert.equal(events.filter((event) => event === 'handled ok').length, 3);
    await subscription.stop();
    assert.deepEqual(subscription.assignment(), []);
  });
});
