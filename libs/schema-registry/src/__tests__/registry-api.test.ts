import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMPATIBILITY, SchemaRegistry as ConfluentClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import {
  MemorySchemaStore,
  SCHEMA_REGISTRY_CONTENT_TYPE,
  startSchemaRegistry,
  type RunningSchemaRegistry,
} from '../index.js';

const v1 = {
  type: 'record',
  name: 'Thing',
  namespace: 'test.registry',
  fields: [{ name: 'id', type: 'string' }],
};
const v2 = { ...v1, fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }] };
const incompatible = { ...v1, fields: [...v1.fields, { name: 'count', type: 'int' }] };
const avroSchema = (schema: object) => ({ type: SchemaType.AVRO as const, schema: JSON.stringify(schema) });

let server: RunningSchemaRegistry;
let client: ConfluentClient;

before(async () => {
  server = await startSchemaRegistry({ store: new MemorySchemaStore() });
  await server.ready;
  client = new ConfluentClient({ host: server.url, retry: { retries: 0 } });
});
after(async () => {
  await server.close();
});

async function http(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; type: string | null; json: unknown }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': SCHEMA_REGISTRY_CONTENT_TYPE },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, type: response.headers.get('content-type'), json: await response.json() };
}

test('the real client registers, looks up, fetches by id, encodes and decodes', async () => {
  const subject = `things-${Date.now()}-value`;
  const { id } = await client.register(avroSchema(v1), { subject });
  assert.ok(Number.isInteger(id) && id > 0);
  assert.equal((await client.register(avroSchema(v1), { subject })).id, id, 'registering twice is idempotent');
  assert.equal(await client.getRegistryIdBySchema(subject, avroSchema(v1)), id);
  assert.equal(await client.getLatestSchemaId(subject), id);
  assert.equal(await client.getRegistryId(subject, 1), id);

  const bytes = await client.encode(id, { id: 'x-1' });
  assert.equal(bytes[0], 0);
  assert.equal(bytes.readInt32BE(1), id);
  assert.deepEqual(
    bytes.subarray(5),
    avro.Type.forSchema(v1 as avro.Schema).toBuffer({ id: 'x-1' }),
    'plain Avro body',
  );

  // A fresh client has no cache: decoding goes through GET /schemas/ids/{id}.
  const fresh = new ConfluentClient({ host: server.url, retry: { retries: 0 } });
  assert.deepEqual({ ...(await fresh.decode(bytes)) }, { id: 'x-1' });

  const { id: id2 } = await client.register(avroSchema(v2), { subject });
  assert.equal(id2, id + 1, 'ids are global and increasing');
  assert.equal(await client.getLatestSchemaId(subject), id2);
  const decodedAsV2 = await fresh.decode(bytes, { [SchemaType.AVRO]: { readerSchema: v2 as never } });
  assert.deepEqual({ ...decodedAsV2 }, { id: 'x-1', note: null });

  const listed = await http('GET', '/subjects');
  assert.equal(listed.status, 200);
  assert.equal(listed.type, SCHEMA_REGISTRY_CONTENT_TYPE);
  assert.ok((listed.json as string[]).includes(subject));
  assert.deepEqual((await http('GET', `/subjects/${subject}/versions`)).json, [1, 2]);
  assert.deepEqual((await http('GET', `/config/${subject}`)).json, { compatibilityLevel: 'BACKWARD' });
});

test('the same schema under another subject gets the same id', async () => {
  const a = await client.register(avroSchema({ ...v1, name: 'Shared' }), { subject: `shared-a-${Date.now()}` });
  const b = await client.register(avroSchema({ ...v1, name: 'Shared' }), { subject: `shared-b-${Date.now()}` });
  assert.equal(a.id, b.id);
});

test('an incompatible registration is refused with 409', async () => {
  const subject = `refuse-${Date.now()}-value`;
  await client.register(avroSchema(v1), { subject });
  await assert.rejects(client.register(avroSchema(incompatible), { subject }), (error: { status?: number }) => {
    assert.equal(error.status, 409);
    return true;
  });
  const raw = await http('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(incompatible) });
  assert.equal(raw.status, 409);
  assert.equal((raw.json as { error_code: number }).error_code, 409);
  const check = await http('POST', `/compatibility/subjects/${subject}/versions/latest?verbose=true`, {
    schema: JSON.stringify(incompatible),
  });
  assert.equal(check.status, 200);
  assert.equal((check.json as { is_compatible: boolean }).is_compatible, false);
  assert.ok((check.json as { messages: string[] }).messages.length > 0);
  const ok = await http('POST', `/compatibility/subjects/${subject}/versions/latest`, { schema: JSON.stringify(v2) });
  assert.deepEqual(ok.json, { is_compatible: true });
});

test('compatibility levels are set and enforced per subject: NONE accepts, FORWARD refuses', async () => {
  const subject = `levels-${Date.now()}-value`;
  await client.register(avroSchema(v1), { subject, compatibility: COMPATIBILITY.NONE });
  assert.deepEqual((await http('GET', `/config/${subject}`)).json, { compatibilityLevel: 'NONE' });
  assert.equal(
    (await http('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(incompatible) })).status,
    200,
  );
  assert.deepEqual((await http('PUT', `/config/${subject}`, { compatibility: 'FORWARD' })).json, {
    compatibility: 'FORWARD',
  });
  // FORWARD: the latest (incompatible, with a required int) must read data of the new one, which lacks it.
  const lacksCount = { ...v1, fields: [...v1.fields, { name: 'z', type: 'string', default: '' }] };
  assert.equal(
    (await http('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(lacksCount) })).status,
    409,
  );
  const bad = await http('PUT', `/config/${subject}`, { compatibility: 'SIDEWAYS' });
  assert.deepEqual([bad.status, (bad.json as { error_code: number }).error_code], [422, 42203]);
  assert.deepEqual((await http('GET', '/config')).json, { compatibilityLevel: 'BACKWARD' });
});

test('unknown subjects, versions, ids and schemas answer with Confluent error codes', async () => {
  const cases: Array<[string, string, unknown, number, number]> = [
    ['GET', '/subjects/nope-value/versions/latest', undefined, 404, 40401],
    ['GET', '/subjects/nope-value/versions', undefined, 404, 40401],
    ['POST', '/subjects/nope-value', { schema: JSON.stringify(v1) }, 404, 40401],
    ['GET', '/schemas/ids/987654', undefined, 404, 40403],
    ['GET', '/config/nope-value', undefined, 404, 40408],
    ['POST', '/subjects/bad-value/versions', { schema: '{"type":"record"' }, 422, 42201],
    ['POST', '/subjects/bad-value/versions', { schema: '{"type":"nonsense"}' }, 422, 42201],
    ['POST', '/subjects/bad-value/versions', { schema: '"string"', schemaType: 'PROTOBUF' }, 422, 42201],
    ['GET', '/nowhere', undefined, 404, 404],
  ];
  for (const [method, path, body, status, errorCode] of cases) {
    const response = await http(method, path, body);
    assert.equal(response.status, status, `${method} ${path}`);
    assert.equal((response.json as { error_code: number }).error_code, errorCode, `${method} ${path}`);
    assert.equal(typeof (response.json as { message: unknown }).message, 'string');
  }
  const subject = `versions-${Date.now()}-value`;
  await client.register(avroSchema(v1), { subject });
  assert.equal((await http('GET', `/subjects/${subject}/versions/7`)).status, 404);
  assert.equal(
    ((await http('GET', `/subjects/${subject}/versions/7`)).json as { error_code: number }).error_code,
    40402,
  );
  assert.equal(
    ((await http('GET', `/subjects/${subject}/versions/zero`)).json as { error_code: number }).error_code,
    42202,
  );
  assert.equal(
    ((await http('POST', `/subjects/${subject}`, { schema: JSON.stringify(v2) })).json as { error_code: number })
      .error_code,
    40403,
  );
  await assert.rejects(client.getSchema(987654), (error: { status?: number }) => error.status === 404);
});

test('until the store has caught up every request answers 503 (50003), then 200', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const inner = new MemorySchemaStore();
  let caughtUp = false;
  const slow = await startSchemaRegistry({
    store: {
      async start(apply) {
        await gate;
        await inner.start(apply);
        caughtUp = true;
      },
      append: (record) => inner.append(record),
      isCaughtUp: () => caughtUp,
      close: () => inner.close(),
    },
  });
  try {
    const early = await fetch(`${slow.url}/subjects`);
    assert.equal(early.status, 503);
    assert.equal(((await early.json()) as { error_code: number }).error_code, 50003);
    release();
    await slow.ready;
    assert.equal((await fetch(`${slow.url}/subjects`)).status, 200);
  } finally {
    await slow.close();
  }
});
