import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import avro from 'avsc';
import {
  LocalSchemaRegistry,
  SCHEMAS_DIR,
  SchemaDecodeError,
  SchemaEncodeError,
  createLocalCodec,
  frameValue,
  topicDefinitions,
} from '../index.js';
import { SAMPLE_REJECTION, SAMPLE_VALUES } from './helpers/sample-values.js';

const ALL_TOPICS = topicDefinitions({ gatewayIds: ['gw-1'] });

/** Reads a schema straight from its file, without any chatmesh code. */
function plainType(fullName: string, version?: number): avro.Type {
  const folder = join(SCHEMAS_DIR, ...fullName.split('.'));
  const file = version === undefined ? latestFile(folder) : `v${version}.avsc`;
  return avro.Type.forSchema(JSON.parse(readFileSync(join(folder, file), 'utf8')));
}

/** Plain data, so values from different avsc types (different record classes) compare by content. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function latestFile(folder: string): string {
  for (let v = 50; v >= 1; v -= 1) {
    try {
      readFileSync(join(folder, `v${v}.avsc`));
      return `v${v}.avsc`;
    } catch {
      // keep looking downwards
    }
  }
  throw new Error(`no versions in ${folder}`);
}

test('a value of every topic schema round-trips, framed as Confluent does, and plain avsc reads the body', async () => {
  const codec = createLocalCodec();
  await codec.prepare(ALL_TOPICS.map((t) => t.valueSubject));
  for (const t of ALL_TOPICS) {
    const value = SAMPLE_VALUES[t.valueSchema];
    const bytes = await codec.encode(t.valueSubject, value);
    const id = codec.schemaIdOf(t.valueSubject);
    assert.ok(id !== undefined && id > 0);
    assert.equal(bytes[0], 0, 'magic byte');
    assert.equal(bytes.readInt32BE(1), id, 'big-endian schema id');
    // Independent decode: the schema file and avsc only.
    const plain = plainType(t.valueSchema);
    assert.deepEqual(bytes.subarray(5), plain.toBuffer(value), `${t.name}: body is plain Avro binary`);
    assert.deepEqual(asJson(plain.fromBuffer(bytes.subarray(5))), asJson(value));
    const decoded = await codec.decode(bytes);
    assert.equal(decoded.schemaId, id);
    assert.deepEqual(asJson(decoded.value), asJson(value), t.name);
  }
  const rejection = await codec.decode(await codec.encode('gateway.gw-1.deliveries-value', SAMPLE_REJECTION));
  assert.deepEqual(asJson(rejection.value), asJson(SAMPLE_REJECTION));
});

test('the same schema has the same id on every subject and in every codec (deterministic ids)', async () => {
  const a = createLocalCodec();
  const b = createLocalCodec();
  await a.prepare(['chat.events.dlq-value', 'user.inbox.dlq-value', 'chat.commands-value']);
  await b.prepare(['chat.commands-value', 'user.inbox.dlq-value', 'chat.events.dlq-value']);
  assert.equal(a.schemaIdOf('chat.events.dlq-value'), a.schemaIdOf('user.inbox.dlq-value'));
  for (const subject of ['chat.events.dlq-value', 'chat.commands-value']) {
    assert.equal(a.schemaIdOf(subject), b.schemaIdOf(subject));
  }
  const bytes = await a.encode('chat.commands-value', SAMPLE_VALUES['chatmesh.chat.ChatCommand']);
  assert.deepEqual((await b.decode(bytes)).value, (await a.decode(bytes)).value);
});

test('a record written with ChatCommand v1 is read as the current version (new field gets its default)', async () => {
  const registry = new LocalSchemaRegistry();
  const codec = createLocalCodec({ registry });
  await codec.prepare(['chat.commands-value']);
  const versions = registry.versionsOf('chat.commands-value');
  assert.deepEqual(
    versions.map((v) => v.version),
    [1, 2],
  );
  const v1 = versions[0];
  assert.ok(v1 && v1.id !== codec.schemaIdOf('chat.commands-value'));
  const { traceparent: _dropped, ...v1Value } = SAMPLE_VALUES['chatmesh.chat.ChatCommand'];
  const bytes = frameValue(v1.id, plainType('chatmesh.chat.ChatCommand', 1).toBuffer(v1Value));
  const decoded = await codec.decode<{ traceparent: string | null; chatId: string }>(bytes);
  assert.equal(decoded.schemaId, v1.id);
  assert.equal(decoded.value.traceparent, null);
  assert.equal(decoded.value.chatId, 'c-1');
});

test('a value that does not match the schema fails with CM_ERR_SCHEMA_ENCODE and the bad paths', async () => {
  const codec = createLocalCodec();
  const bad = { ...SAMPLE_VALUES['chatmesh.receipts.ReceiptReport'], upToSeq: 'five' };
  await assert.rejects(codec.encode('receipts-value', bad), (error: unknown) => {
    assert.ok(error instanceof SchemaEncodeError);
    assert.equal(error.code, 'CM_ERR_SCHEMA_ENCODE');
    assert.equal(error.retriable, false);
    assert.deepEqual(error.paths, [['upToSeq']]);
    return true;
  });
  await assert.rejects(codec.encode('no-such-topic-value', {}), { code: 'CM_ERR_SCHEMA_UNKNOWN_SUBJECT' });
});

test('bad frames fail with CM_ERR_SCHEMA_DECODE, not retriable, with a reason', async () => {
  const codec = createLocalCodec();
  const good = await codec.encode('receipts-value', SAMPLE_VALUES['chatmesh.receipts.ReceiptReport']);
  const cases: Array<[Buffer, string]> = [
    [Buffer.alloc(0), 'short-buffer'],
    [good.subarray(0, 4), 'short-buffer'],
    [Buffer.concat([Buffer.from([1]), good.subarray(1)]), 'bad-magic-byte'],
    [frameValue(999_999, good.subarray(5)), 'unknown-schema-id'],
    [good.subarray(0, good.length - 3), 'corrupt-body'],
    [Buffer.concat([good, Buffer.from([1, 2, 3])]), 'corrupt-body'],
  ];
  for (const [bytes, reason] of cases) {
    await assert.rejects(codec.decode(bytes), (error: unknown) => {
      assert.ok(error instanceof SchemaDecodeError, String(error));
      assert.equal(error.code, 'CM_ERR_SCHEMA_DECODE');
      assert.equal(error.retriable, false);
      assert.equal(error.reason, reason);
      return true;
    });
  }
});

test('the local registry refuses an incompatible version with CM_ERR_SCHEMA_INCOMPATIBLE', () => {
  const registry = new LocalSchemaRegistry();
  const v1 = { type: 'record', name: 'T', namespace: 'demo', fields: [{ name: 'a', type: 'string' }] };
  const first = registry.register('demo-value', v1);
  assert.equal(registry.register('demo-value', v1).id, first.id, 'registering again is idempotent');
  assert.throws(() => registry.register('demo-value', { ...v1, fields: [...v1.fields, { name: 'b', type: 'int' }] }), {
    code: 'CM_ERR_SCHEMA_INCOMPATIBLE',
  });
  const v2 = registry.register('demo-value', { ...v1, fields: [...v1.fields, { name: 'b', type: 'int', default: 0 }] });
  assert.equal(v2.version, 2);
  assert.equal(v2.id, first.id + 1);
});

test('a corrupt array count is refused before decoding, instead of allocating what it claims', async () => {
  const codec = createLocalCodec();
  const command = {
    chatId: 'c',
    origin: { userId: 'u', deviceId: 'd', gatewayId: 'g', requestId: 'r', receivedAtMs: 1 },
    command: {
      'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: ['qqqq'], name: null, pictureAttachmentId: null },
    },
    traceparent: null,
  };
  const good = await codec.encode('chat.commands-value', command);
  // The member list: block count 1 (zig-zag 0x02), the string 'qqqq' (length 0x08), the end of the blocks (0x00).
  const list = Buffer.from([0x02, 0x08, ...Buffer.from('qqqq'), 0x00]);
  const at = good.indexOf(list);
  assert.ok(at > 0, 'the member list is where it is expected');
  // A count of 2^40 items (zig-zag 2^41 as a varint), as one flipped byte can make.
  const huge = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
  const poisoned = Buffer.concat([good.subarray(0, at), huge, good.subarray(at + 1)]);
  await assert.rejects(codec.decode(poisoned), (error: unknown) => {
    assert.ok(error instanceof SchemaDecodeError, String(error));
    assert.equal(error.reason, 'corrupt-body');
    assert.match(error.message, /items where \d+ bytes are left/);
    return true;
  });
  assert.deepEqual(asJson((await codec.decode(good)).value), asJson(command));
});
