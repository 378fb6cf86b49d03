import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SchemaRegistry as ConfluentClient } from '@kafkajs/confluent-schema-registry';
import { MemorySchemaStore, startSchemaRegistry, type RunningSchemaRegistry } from '@chatmesh/schema-registry';
import avro from 'avsc';
import {
  SchemaDecodeError,
  SchemaEncodeError,
  SchemaRegistryError,
  createLocalCodec,
  createRegistryCodec,
  frameValue,
  latestSchemaOf,
  schemaVersionsOf,
  topicDefinitions,
} from '../index.js';
import { SAMPLE_VALUES } from './helpers/sample-values.js';

const ALL_TOPICS = topicDefinitions({ gatewayIds: ['gw-7'] });
let registry: RunningSchemaRegistry;

before(async () => {
  registry = await startSchemaRegistry({ store: new MemorySchemaStore() });
  await registry.ready;
});
after(async () => {
  await registry.close();
});

const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

test('prepare registers every subject; values of every topic round-trip with the registry ids', async () => {
  const codec = createRegistryCodec({ url: registry.url, retries: 0 });
  await codec.prepare(ALL_TOPICS.map((t) => t.valueSubject));
  const subjects = (await (await fetch(`${registry.url}/subjects`)).json()) as string[];
  assert.deepEqual(subjects, ALL_TOPICS.map((t) => t.valueSubject).sort());
  // An independent client: the real kafkajs registry client decodes our bytes.
  const client = new ConfluentClient({ host: registry.url });
  for (const t of ALL_TOPICS) {
    const value = SAMPLE_VALUES[t.valueSchema];
    const bytes = await codec.encode(t.valueSubject, value);
    const latest = (await (await fetch(`${registry.url}/subjects/${t.valueSubject}/versions/latest`)).json()) as {
      id: number;
    };
    assert.equal(bytes[0], 0);
    assert.equal(bytes.readInt32BE(1), latest.id);
    assert.equal(codec.schemaIdOf(t.valueSubject), latest.id);
    assert.deepEqual(
      bytes.subarray(5),
      avro.Type.forSchema(latestSchemaOf(t.valueSchema) as avro.Schema).toBuffer(value),
    );
    assert.deepEqual(asJson(await client.decode(bytes)), asJson(value), `${t.name} via the kafkajs client`);
    // A second codec instance has no cache: it fetches the writer schema by id.
    const fresh = createRegistryCodec({ url: registry.url });
    const decoded = await fresh.decode(bytes);
    assert.equal(decoded.schemaId, latest.id);
    assert.deepEqual(asJson(decoded.value), asJson(value), t.name);
  }
});

test('bytes written with an older registered version decode into the current shape', async () => {
  const subject = 'chat.commands-value';
  const [v1] = schemaVersionsOf('chatmesh.chat.ChatCommand');
  assert.ok(v1);
  const client = new ConfluentClient({ host: registry.url });
  // An old producer registered v1 under a subject of its own; the codec finds it by id.
  const { id } = await client.register(
    { type: 'AVRO' as never, schema: JSON.stringify(v1.schema) },
    { subject: 'old-producer-value' },
  );
  const { traceparent: _gone, ...v1Value } = SAMPLE_VALUES['chatmesh.chat.ChatCommand'];
  const bytes = frameValue(id, avro.Type.forSchema(v1.schema as avro.Schema).toBuffer(v1Value));
  const codec = createRegistryCodec({ url: registry.url });
  await codec.prepare([subject]);
  const decoded = await codec.decode<{ traceparent: string | null }>(bytes);
  assert.equal(decoded.schemaId, id);
  assert.equal(decoded.value.traceparent, null);
});

test('local and registry codecs produce the same body bytes for the same value', async () => {
  const local = createLocalCodec();
  const remote = createRegistryCodec({ url: registry.url });
  const value = SAMPLE_VALUES['chatmesh.inbox.InboxEntry'];
  const a = await local.encode('user.inbox-value', value);
  const b = await remote.encode('user.inbox-value', value);
  assert.deepEqual(a.subarray(5), b.subarray(5));
});

test('errors: bad value, unknown id, bad frame, incompatible schema, registry down', async () => {
  const codec = createRegistryCodec({ url: registry.url, retries: 0 });
  await assert.rejects(
    codec.encode('receipts-value', { chatId: 'c' }),
    (error: unknown) => error instanceof SchemaEncodeError && error.code === 'CM_ERR_SCHEMA_ENCODE',
  );
  await assert.rejects(codec.decode(frameValue(424_242, Buffer.from([2, 0]))), (error: unknown) => {
    assert.ok(error instanceof SchemaDecodeError);
    assert.deepEqual([error.code, error.reason, error.retriable], ['CM_ERR_SCHEMA_DECODE', 'unknown-schema-id', false]);
    return true;
  });
  await assert.rejects(codec.decode(Buffer.from([0, 0, 0])), { code: 'CM_ERR_SCHEMA_DECODE', reason: 'short-buffer' });
  await assert.rejects(codec.decode(Buffer.from([9, 0, 0, 0, 1, 0])), {
    code: 'CM_ERR_SCHEMA_DECODE',
    reason: 'bad-magic-byte',
  });

  // The subject already holds a schema the current one cannot follow: the registry answers 409.
  const client = new ConfluentClient({ host: registry.url });
  await client.register(
    {
      type: 'AVRO' as never,
      schema: JSON.stringify({ type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] }),
    },
    { subject: 'gateway.gw-conflict.deliveries-value' },
  );
  await assert.rejects(codec.prepare(['gateway.gw-conflict.deliveries-value']), (error: unknown) => {
    assert.ok(error instanceof SchemaRegistryError);
    assert.equal(error.code, 'CM_ERR_SCHEMA_INCOMPATIBLE');
    assert.equal(error.status, 409);
    return true;
  });

  // A port nothing listens on: retriable unavailability, for encode (registration) and decode (fetch by id).
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const down = createRegistryCodec({ url: `http://127.0.0.1:${port}`, retries: 0 });
  const attempts = [
    () => down.encode('receipts-value', SAMPLE_VALUES['chatmesh.receipts.ReceiptReport']),
    () => down.decode(frameValue(1, Buffer.from([0]))),
  ];
  for (const attempt of attempts) {
    await assert.rejects(attempt(), (error: unknown) => {
      assert.ok(error instanceof SchemaRegistryError, String(error));
      assert.equal(error.code, 'CM_ERR_SCHEMA_REGISTRY_UNAVAILABLE');
      assert.equal(error.retriable, true);
      return true;
    });
  }
});

test('a subject whose level differs from the codec’s is refused, not retried', async () => {
  await fetch(`${registry.url}/config/gateway.gw-full.deliveries-value`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: 'FULL' }),
  });
  const codec = createRegistryCodec({ url: registry.url, retries: 0 });
  await assert.rejects(codec.prepare(['gateway.gw-full.deliveries-value']), (error: unknown) => {
    assert.ok(error instanceof SchemaRegistryError);
    assert.deepEqual([error.code, error.retriable], ['CM_ERR_SCHEMA_REGISTRY_REJECTED', false]);
    return true;
  });
  const full = createRegistryCodec({ url: registry.url, compatibility: 'FULL' });
  await full.prepare(['gateway.gw-full.deliveries-value']);
  assert.ok((full.schemaIdOf('gateway.gw-full.deliveries-value') ?? 0) > 0);
});
