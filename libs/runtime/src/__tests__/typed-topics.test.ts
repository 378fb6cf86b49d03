import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createMemoryBus, DEAD_LETTER_ERROR_CODE_HEADER, type Bus, type DeadLetterEnvelope } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { createLocalCodec, topicSpecs, TOPICS, type SchemaCodec } from '@chatmesh/schemas';
import { createBusInstrumentation, createTypedProducer, subscribeTyped } from '../index.js';
import { createFakeCodec, memoryLogger, uniqueName, waitFor } from './helpers.js';

const buses: Bus[] = [];
after(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
});

async function setup(codec: SchemaCodec = createFakeCodec()) {
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  const metrics = createChatmeshMetrics(registry);
  const bus = createMemoryBus({ instrumentation: createBusInstrumentation(metrics) });
  buses.push(bus);
  const topic = uniqueName('test-typed');
  await bus.admin.createTopics([
    { name: topic, partitions: 2 },
    { name: `${topic}.dlq`, partitions: 1 },
  ]);
  return { bus, codec, topic, registry, metrics };
}

const collect = collectRecords;

/** The test topics are not in the topic table: any name, any record (the fake codec encodes JSON). */
type ThrowawayTopics<T = unknown> = Record<string, T>;

test('a typed producer encodes with <topic>-value and the consumer gets the decoded value', async () => {
  const { bus, codec, topic } = await setup();
  const received: Array<{ value: { text: string }; key: string | null }> = [];
  await subscribeTyped<ThrowawayTopics<{ text: string }>>({
    bus,
    codec,
    groupId: uniqueName('test-group'),
    topics: [topic],
    handler: async (value, record) => {
      received.push({ value, key: record.key });
    },
  });
  const metadata = await createTypedProducer<ThrowawayTopics>(bus, codec).send(topic, 'chat-1', { text: 'hi' });
  assert.equal(metadata.topic, topic);
  await waitFor(() => received.length === 1, 5_000, 'the decoded record');
  assert.deepEqual(received[0], { value: { text: 'hi' }, key: 'chat-1' });
  assert.deepEqual((codec as ReturnType<typeof createFakeCodec>).subjectsEncoded, [`${topic}-value`]);
});

test('an undecodable record goes straight to the dead-letter twin, is not retried, and is counted', async () => {
  const { bus, codec, topic, registry } = await setup();
  const { logger, lines } = memoryLogger();
  const groupId = uniqueName('test-group');
  const handled: unknown[] = [];
  await subscribeTyped<ThrowawayTopics>({
    bus,
    codec,
    groupId,
    topics: [topic],
    logger,
    metrics: createChatmeshMetrics(createMetricsRegistry({ collectDefaultMetrics: false })),
    retry: { maxAttempts: 5, initialDelayMs: 1, jitter: false },
    handler: async (value) => {
      handled.push(value);
    },
  });
  const dead = await collect(bus, `${topic}.dlq`);
  const garbage = Buffer.from('not framed at all');
  await bus.producer.send(topic, [{ key: 'chat-9', value: garbage, headers: { trace: 't1' } }]);
  await bus.producer.send(topic, [{ key: 'chat-9', value: null }]);
  await createTypedProducer<ThrowawayTopics>(bus, codec).send(topic, 'chat-9', { after: true });

  await waitFor(() => handled.length === 1 && dead.length === 2, 5_000, 'two dead letters and one handled record');
  // Order within the partition holds: the good record after the two bad ones was still handled.
  assert.deepEqual(handled, [{ after: true }]);

  const envelopes = await Promise.all(
    dead.map(async (record) => (await codec.decode<DeadLetterEnvelope>(record.value!)).value),
  );
  const [first, second] = envelopes;
  assert.equal(first?.errorCode, 'CM_ERR_SCHEMA_DECODE');
  assert.equal(first?.attempts, 1, 'a decode failure is never retried');
  assert.equal(first?.originalTopic, topic);
  assert.equal(first?.groupId, groupId);
  assert.equal(first?.originalKey, 'chat-9');
  assert.deepEqual(first?.originalHeaders, { trace: 't1' });
  assert.ok(Buffer.from(first!.originalValue!).equals(garbage), 'the original bytes are kept for replay');
  assert.equal(second?.errorCode, 'CM_ERR_RUNTIME_EMPTY_RECORD');
  assert.equal(dead[0]?.headers[DEAD_LETTER_ERROR_CODE_HEADER], 'CM_ERR_SCHEMA_DECODE');
  assert.ok(lines().some((line) => line.msg === 'undecodable record parked in the dead-letter topic'));
  void registry;
});

test('a handler that keeps throwing is dead-lettered by the bus after its retries, with the DeadLetter encoder', async () => {
  const { bus, codec, topic, registry } = await setup();
  const groupId = uniqueName('test-group');
  let attempts = 0;
  await subscribeTyped<ThrowawayTopics>({
    bus,
    codec,
    groupId,
    topics: [topic],
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5, jitter: false },
    handler: async () => {
      attempts += 1;
      throw new Error('store down');
    },
  });
  const dead = await collect(bus, `${topic}.dlq`);
  await createTypedProducer<ThrowawayTopics>(bus, codec).send(topic, 'chat-2', { n: 1 });
  await waitFor(() => dead.length === 1, 5_000, 'the dead letter');
  assert.equal(attempts, 3);
  const envelope = (await codec.decode<DeadLetterEnvelope>(dead[0]!.value!)).value;
  assert.equal(envelope.attempts, 3);
  assert.equal(envelope.groupId, groupId);
  assert.match(envelope.errorMessage, /store down/);
  assert.ok((codec as ReturnType<typeof createFakeCodec>).subjectsEncoded.includes(`${topic}.dlq-value`));

  const text = await registry.metrics();
  assert.match(
    text,
    new RegExp(`chatmesh_bus_records_failed_total\\{group="${groupId}",topic="${topic}",error_code="[A-Z_]+"\\} 1`),
  );
  assert.match(text, new RegExp(`chatmesh_bus_records_retried_total\\{group="${groupId}",topic="${topic}"\\} 2`));
  assert.match(text, new RegExp(`chatmesh_bus_records_produced_total\\{topic="${topic}"\\} 1`));
});

test('with the local Avro codec, dead letters are Avro DeadLetter records on <topic>.dlq', async () => {
  const codec = createLocalCodec();
  const bus = createMemoryBus();
  buses.push(bus);
  await bus.admin.createTopics(topicSpecs());
  const topic = TOPICS.chatEvents.name;
  await codec.prepare([`${topic}.dlq-value`]);
  await subscribeTyped<ThrowawayTopics>({
    bus,
    codec,
    groupId: uniqueName('test-group'),
    topics: [topic],
    handler: async () => {},
  });
  const dead = await collect(bus, `${topic}.dlq`);
  await bus.producer.send(topic, [{ key: 'chat-1', value: Buffer.from([0, 0, 0, 0, 99, 1, 2]) }]);
  await waitFor(() => dead.length === 1, 5_000, 'the Avro dead letter');
  const envelope = (await codec.decode<DeadLetterEnvelope>(dead[0]!.value!)).value;
  assert.equal(envelope.originalTopic, topic);
  assert.equal(envelope.errorCode, 'CM_ERR_SCHEMA_DECODE');
  assert.deepEqual([...envelope.originalValue!], [0, 0, 0, 0, 99, 1, 2]);
});
