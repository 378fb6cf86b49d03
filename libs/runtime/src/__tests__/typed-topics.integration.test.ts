import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SchemaRegistry as ConfluentClient } from '@kafkajs/confluent-schema-registry';
import kafkajs from 'kafkajs';
import { createKafkaBus, type Bus, type BusRecord, type DeadLetterEnvelope } from '@chatmesh/bus';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { createRegistryCodec, gatewayDeliveriesTopic, type GatewayDelivery, type SchemaCodec } from '@chatmesh/schemas';
import { randomName, startKafka, startSchemaRegistry, type ProvidedServer } from '@chatmesh/testing';
import { createBusInstrumentation, createTypedProducer, ensureTopics, subscribeTyped } from '../index.js';
import { uniqueName, waitFor } from './helpers.js';

const servers: ProvidedServer[] = [];
let brokers: string[] = [];
let registryUrl = '';
let bus: Bus;
let codec: SchemaCodec;
const registry = createMetricsRegistry({ collectDefaultMetrics: false });
const metrics = createChatmeshMetrics(registry);

before(async () => {
  const kafka = await startKafka();
  servers.push(kafka);
  const schemaRegistry = await startSchemaRegistry();
  servers.push(schemaRegistry);
  brokers = [...kafka.brokers];
  registryUrl = schemaRegistry.url;
  bus = createKafkaBus({
    brokers: kafka.brokers,
    logLevel: 'nothing',
    instrumentation: createBusInstrumentation(metrics),
  });
  codec = createRegistryCodec({ url: schemaRegistry.url });
});

after(async () => {
  await bus?.close();
  for (const server of servers.reverse()) await server.stop();
});

test('on Kafka with the registry: typed records arrive decoded, undecodable ones land as Avro DeadLetters in the twin', async () => {
  // A gateway delivery topic with a random gateway id: a real row of the topic table, private to this test.
  const definition = gatewayDeliveriesTopic(randomName('test').replaceAll('.', '-'));
  const topics = await ensureTopics(bus, codec, [definition]);
  assert.deepEqual(topics, [definition.name, `${definition.name}.dlq`]);

  const received: GatewayDelivery[] = [];
  const groupId = uniqueName('test-typed');
  const subscription = await subscribeTyped({
    bus,
    codec,
    groupId,
    topics: [definition.name],
    metrics,
    handler: async (value) => {
      received.push(value);
    },
  });
  const dead: BusRecord[] = [];
  const collector = await bus.subscribe({
    groupId: uniqueName('test-dlq-reader'),
    topics: [`${definition.name}.dlq`],
    handler: async (record) => {
      dead.push(record);
    },
    deadLetter: { encode: async () => Buffer.alloc(0) },
  });
  await Promise.all([subscription.ready, collector.ready]);

  const delivery: GatewayDelivery = {
    gatewayId: 'g',
    userId: 'user-1',
    deviceId: null,
    createdAtMs: Date.now(),
    payload: {
      'chatmesh.gateway.TypingNotice': {
        chatId: 'chat-1',
        typingUserId: 'user-2',
        typing: true,
        expiresAtMs: Date.now() + 5_000,
      },
    },
  };
  await bus.producer.send(definition.name, [{ key: 'user-1', value: Buffer.from([0, 0, 0, 0, 0, 42]) }]);
  await createTypedProducer(bus, codec).send(definition.name, 'user-1', delivery);

  await waitFor(() => received.length === 1 && dead.length === 1, 60_000, 'one decoded record and one dead letter');
  // avsc decodes into record-class instances; compare the data, not the prototypes.
  assert.deepEqual(JSON.parse(JSON.stringify(received[0]?.payload)), delivery.payload);
  const envelope = (await codec.decode<DeadLetterEnvelope>(dead[0]!.value!)).value;
  assert.equal(envelope.errorCode, 'CM_ERR_SCHEMA_DECODE');
  assert.equal(envelope.attempts, 1);
  assert.equal(envelope.groupId, groupId);
  assert.deepEqual([...envelope.originalValue!], [0, 0, 0, 0, 0, 42]);
  assert.match(
    await registry.metrics(),
    new RegExp(
      `chatmesh_bus_records_failed_total\\{group="${groupId}",topic="${definition.name.replaceAll('.', '\\.')}",error_code="CM_ERR_SCHEMA_DECODE"\\} 1`,
    ),
  );
  await subscription.stop();
  await collector.stop();
});

test('a record produced through the Kafka bus is read by a plain kafkajs consumer and decoded through the registry, with the id it assigned', async () => {
  const definition = gatewayDeliveriesTopic(randomName('plain').replaceAll('.', '-'));
  await ensureTopics(bus, codec, [definition]);
  const value: GatewayDelivery = {
    gatewayId: 'gw-plain',
    userId: 'alice',
    deviceId: 'phone',
    createdAtMs: 1_700_000_000_000,
    payload: {
      'chatmesh.gateway.PresenceNotice': { subjectUserId: 'bob', online: true, lastSeenMs: null },
    },
  };
  const metadata = await createTypedProducer(bus, codec).send(definition.name, 'alice', value);

  const consumer = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).consumer({
    groupId: uniqueName('test-plain-reader'),
  });
  const received: Array<{ key: string | undefined; value: Buffer; partition: number; offset: string }> = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: definition.name, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        if (message.value)
          received.push({ key: message.key?.toString(), value: message.value, partition, offset: message.offset });
      },
    });
    await waitFor(() => received.length === 1, 60_000, 'the record read by plain kafkajs');
  } finally {
    await consumer.disconnect();
  }
  const record = received[0]!;
  assert.equal(record.key, 'alice');
  assert.equal(`${record.partition}@${record.offset}`, `${metadata.partition}@${metadata.offset}`);
  const latest = (await (await fetch(`${registryUrl}/subjects/${definition.valueSubject}/versions/latest`)).json()) as {
    id: number;
  };
  assert.equal(record.value[0], 0, 'Confluent magic byte');
  assert.equal(record.value.readInt32BE(1), latest.id, 'the schema id the registry assigned');
  const decoded = await new ConfluentClient({ host: registryUrl }).decode(record.value);
  assert.deepEqual(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify(value)));
});
