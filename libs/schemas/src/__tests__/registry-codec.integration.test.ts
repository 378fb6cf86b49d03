import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SchemaRegistry as ConfluentClient } from '@kafkajs/confluent-schema-registry';
import { randomName, startSchemaRegistry, waitFor, type SchemaRegistryServer } from '@chatmesh/testing';
import kafkajs from 'kafkajs';
import { createRegistryCodec, TOPICS } from '../index.js';
import { SAMPLE_VALUES } from './helpers/sample-values.js';

let registry: SchemaRegistryServer;

before(async () => {
  registry = await startSchemaRegistry();
});
after(async () => {
  await registry?.stop();
});

test('a record encoded by the codec goes through real Kafka and is decoded by a plain client with the id the registry assigned', async () => {
  assert.ok(registry.kafkaBrokers, 'the provider knows the brokers of the registry');
  const { Kafka, logLevel } = kafkajs;
  const kafka = new Kafka({ brokers: registry.kafkaBrokers, logLevel: logLevel.NOTHING });
  const topic = randomName('test-codec');
  // The subject is the real topic's (chat.events-value); the bytes travel on a test topic of their own.
  const subject = TOPICS.chatEvents.valueSubject;
  const codec = createRegistryCodec({ url: registry.url });
  await codec.prepare([subject]);
  const value = SAMPLE_VALUES['chatmesh.chat.ChatEvent'];
  const bytes = await codec.encode(subject, value);

  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: randomName('test-codec-group') });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: value.chatId, value: bytes }] });

    const received: Buffer[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void (message.value && received.push(message.value)) });
    const [consumed] = await waitFor(() => (received.length > 0 ? received : undefined), {
      timeoutMs: 60_000,
      description: 'the record',
    });
    assert.ok(consumed);

    const assigned = (await (await fetch(`${registry.url}/subjects/${subject}/versions/latest`)).json()) as {
      id: number;
    };
    assert.equal(consumed[0], 0, 'magic byte');
    assert.equal(consumed.readInt32BE(1), assigned.id, 'the id the registry assigned');
    const plain = await new ConfluentClient({ host: registry.url }).decode(consumed);
    assert.deepEqual(JSON.parse(JSON.stringify(plain)), JSON.parse(JSON.stringify(value)));
    const decoded = await createRegistryCodec({ url: registry.url }).decode(consumed);
    assert.equal(decoded.schemaId, assigned.id);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
