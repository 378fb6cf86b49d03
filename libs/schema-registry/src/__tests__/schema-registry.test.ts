import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { isChatmeshError } from '@chatmesh/errors';
import {
  MemorySchemaStore,
  RegistryApiError,
  SchemaRegistry,
  findIncompatibilities,
  loadRegistryConfig,
  type SchemaStore,
} from '../index.js';

const schema = (fields: object[]) => JSON.stringify({ type: 'record', name: 'R', namespace: 't', fields });
const A = schema([{ name: 'a', type: 'string' }]);
const B = schema([
  { name: 'a', type: 'string' },
  { name: 'b', type: 'int', default: 0 },
]);
const C = schema([{ name: 'c', type: 'long' }]);

test('two instances on one store agree on ids, and racing writers never share an id', async () => {
  const store = new MemorySchemaStore();
  const one = new SchemaRegistry({ store });
  const two = new SchemaRegistry({ store: store.share() });
  await Promise.all([one.start(), two.start()]);
  const [x, y] = await Promise.all([one.register('x-value', { schema: A }), two.register('y-value', { schema: C })]);
  assert.notEqual(x.id, y.id);
  assert.equal(two.schemaById(x.id), JSON.stringify(JSON.parse(A)));
  assert.equal(one.schemaById(y.id), JSON.stringify(JSON.parse(C)));
  assert.deepEqual(one.subjects(), two.subjects());
  // A third instance started later rebuilds the same view from the log.
  const three = new SchemaRegistry({ store: store.share() });
  await three.start();
  assert.deepEqual(three.version('x-value', 'latest'), one.version('x-value', 'latest'));
});

test('a record that lost a race (same version or id) is ignored and the writer proposes again', async () => {
  // A store that lets another writer slip in first, as a second instance would.
  const shared = new MemorySchemaStore();
  let interfered = false;
  const racing: SchemaStore = {
    start: (apply) => shared.start(apply),
    isCaughtUp: () => shared.isCaughtUp(),
    close: () => shared.close(),
    async append(record) {
      if (!interfered && record.kind === 'schema') {
        interfered = true;
        await shared.append({ ...record, schema: JSON.stringify(JSON.parse(B)), nonce: 'other-writer' });
      }
      await shared.append(record);
    },
  };
  const registry = new SchemaRegistry({ store: racing });
  await registry.start();
  const { id } = await registry.register('s-value', { schema: A });
  assert.deepEqual(registry.versionNumbers('s-value'), [1, 2]);
  assert.equal(
    registry.version('s-value', '1').schema,
    JSON.stringify(JSON.parse(B)),
    'the first write in the log won',
  );
  assert.equal(registry.version('s-value', '2').id, id);
  assert.equal(id, 2);
});

test('compatibility levels follow Confluent: BACKWARD, FORWARD, FULL, transitive, NONE', () => {
  const t = (s: string) => avro.Type.forSchema(JSON.parse(s) as avro.Schema);
  const withRequired = schema([
    { name: 'a', type: 'string' },
    { name: 'b', type: 'int' },
  ]);
  assert.deepEqual(findIncompatibilities('BACKWARD', t(B), [t(A)]), []);
  assert.equal(findIncompatibilities('BACKWARD', t(withRequired), [t(A)]).length, 1);
  assert.deepEqual(findIncompatibilities('FORWARD', t(withRequired), [t(A)]), [], 'A ignores the extra field');
  assert.equal(findIncompatibilities('FORWARD', t(A), [t(withRequired)]).length, 1);
  assert.equal(findIncompatibilities('FULL', t(withRequired), [t(A)]).length, 1);
  assert.deepEqual(findIncompatibilities('FULL', t(B), [t(A)]), []);
  assert.deepEqual(findIncompatibilities('NONE', t(C), [t(A)]), []);
  // Transitive: compatible with the latest but not with an older version.
  assert.deepEqual(findIncompatibilities('BACKWARD', t(withRequired), [t(C), t(withRequired)]), []);
  assert.equal(findIncompatibilities('BACKWARD_TRANSITIVE', t(withRequired), [t(C), t(withRequired)]).length, 1);
});

test('registry refusals carry HTTP status, Confluent code and a chatmesh code', async () => {
  const registry = new SchemaRegistry({ store: new MemorySchemaStore() });
  await registry.start();
  await registry.register('r-value', { schema: A });
  await assert.rejects(registry.register('r-value', { schema: C }), (error: unknown) => {
    assert.ok(error instanceof RegistryApiError);
    assert.equal(error.code, 'CM_ERR_SCHEMA_INCOMPATIBLE');
    assert.deepEqual([error.httpStatus, error.confluentErrorCode], [409, 409]);
    return true;
  });
  assert.throws(() => registry.version('nope', 'latest'), {
    code: 'CM_ERR_SCHEMA_UNKNOWN_SUBJECT',
    confluentErrorCode: 40401,
  });
});

test('configuration: defaults, and every bad variable listed at once', () => {
  assert.deepEqual(loadRegistryConfig({ KAFKA_BROKERS: '127.0.0.1:19092, 127.0.0.1:19093' }), {
    kafkaBrokers: ['127.0.0.1:19092', '127.0.0.1:19093'],
    host: '127.0.0.1',
    port: 18081,
    topic: '_schemas',
  });
  assert.throws(
    () => loadRegistryConfig({ KAFKA_BROKERS: 'nohost', SCHEMA_REGISTRY_PORT: 'eighty' }),
    (error: unknown) => {
      assert.ok(isChatmeshError(error, 'CM_ERR_SCHEMA_REGISTRY_CONFIG_INVALID'));
      assert.match(error.message, /KAFKA_BROKERS entry "nohost"/);
      assert.match(error.message, /SCHEMA_REGISTRY_PORT="eighty"/);
      return true;
    },
  );
  assert.throws(() => loadRegistryConfig({}), /KAFKA_BROKERS is required/);
});
