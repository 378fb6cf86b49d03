import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { Parser, type Diagnostic } from '@asyncapi/parser';
import { compileErrors, validate } from '@readme/openapi-parser';
import type { ServiceModule } from '@chatmesh/runtime';
import { deadLetterTopicOf, TOPICS } from '@chatmesh/schemas';
import { buildTopicsAsyncApi, CONTRACT_DOCUMENTS, renderContractDocument, SERVICE_MODULES } from '../index.js';

type JsonObject = Record<string, unknown>;

const committed = (file: string): string => readFileSync(new URL(`../../../../${file}`, import.meta.url), 'utf8');

/** The official AsyncAPI parser, with the official Avro schema parser for the embedded Avro schemas. */
function asyncApiParser(): Parser {
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  return parser;
}

/** Errors and warnings of a parse; information and hints (such as "3.1.0 exists") are not problems. */
async function asyncApiProblems(document: unknown): Promise<string[]> {
  const { document: parsed, diagnostics } = await asyncApiParser().parse(JSON.stringify(document));
  const problems = diagnostics
    .filter((d: Diagnostic) => d.severity <= 1)
    .map((d: Diagnostic) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
  return parsed === undefined && problems.length === 0 ? ['the parser returned no document'] : problems;
}

async function openApiProblems(document: unknown): Promise<string[]> {
  // The validator dereferences in place: hand it a copy.
  const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
  return result.valid ? [] : [compileErrors(result)];
}

test('the contract documents in docs/ are what the code generates', () => {
  for (const document of CONTRACT_DOCUMENTS) {
    assert.equal(
      committed(document.file),
      renderContractDocument(document.build()),
      `${document.file} is stale: run \`npm run docs:contract -w @chatmesh/launcher\``,
    );
  }
});

test('the official parsers accept every contract document', async () => {
  for (const document of CONTRACT_DOCUMENTS) {
    const value: unknown = JSON.parse(committed(document.file));
    const problems = document.kind === 'asyncapi' ? await asyncApiProblems(value) : await openApiProblems(value);
    assert.deepEqual(problems, [], `${document.file} is not valid`);
  }
});

test('the validation can fail: the parsers refuse a broken Avro schema, a dangling channel and a broken route', async () => {
  const topics = JSON.parse(committed('docs/asyncapi.json')) as JsonObject;
  const brokenAvro = structuredClone(topics) as { components: { messages: Record<string, { payload: JsonObject }> } };
  (brokenAvro.components.messages['ChatCommand']!.payload['schema'] as JsonObject)['type'] = 'no-such-avro-type';
  assert.notDeepEqual(await asyncApiProblems(brokenAvro), []);

  const dangling = structuredClone(topics) as { operations: Record<string, { channel: JsonObject }> };
  dangling.operations['ingestReceivesChatCommands']!.channel = { $ref: '#/channels/noSuchChannel' };
  assert.notDeepEqual(await asyncApiProblems(dangling), []);

  const http = JSON.parse(committed('docs/openapi.json')) as { paths: Record<string, Record<string, JsonObject>> };
  http.paths['/v1/devices']!['get']!['operationId'] = 'listChats';
  assert.notDeepEqual(await openApiProblems(http), [], 'a duplicate operationId');
  const untyped = JSON.parse(committed('docs/openapi.json')) as { paths: Record<string, Record<string, JsonObject>> };
  untyped.paths['/v1/chats']!['get']!['responses'] = { 200: { content: {} } };
  assert.notDeepEqual(await openApiProblems(untyped), [], 'a response without its description');
});

test('the topics document has every topic and twin, with its key, schema, producers and consumers', () => {
  const document = buildTopicsAsyncApi(Object.values(SERVICE_MODULES)) as {
    channels: Record<string, { address: string; messages: Record<string, unknown> }>;
    operations: Record<string, { action: string; channel: { $ref: string }; tags: Array<{ name: string }> }>;
    components: { messages: Record<string, { name: string; bindings: { kafka: { key: { description: string } } } }> };
  };
  const addresses = Object.values(document.channels).map((channel) => channel.address);
  for (const topic of Object.values(TOPICS)) {
    assert.ok(addresses.includes(topic.name), topic.name);
    assert.ok(addresses.includes(deadLetterTopicOf(topic.name)), deadLetterTopicOf(topic.name));
  }
  assert.ok(addresses.includes('gateway.{gatewayId}.deliveries'));
  assert.equal(document.components.messages['ChatCommand']!.name, 'chatmesh.chat.ChatCommand');
  assert.match(document.components.messages['InboxEntry']!.bindings.kafka.key.description, /user id/);

  const who = (action: string, channelId: string): string[] =>
    Object.values(document.operations)
      .filter((op) => op.action === action && op.channel.$ref === `#/channels/${channelId}`)
      .map((op) => op.tags[0]!.name)
      .sort();
  assert.deepEqual(who('send', 'chatCommands'), ['delivery-gateway']);
  assert.deepEqual(who('receive', 'chatCommands'), ['ingest']);
  assert.deepEqual(who('receive', 'chatEvents'), ['fan-out', 'receipts']);
  // A consumer parks what it cannot handle on the twin; the operator tool reads it.
  assert.deepEqual(who('send', 'chatEventsDeadLetters'), ['fan-out', 'receipts']);
  assert.deepEqual(who('receive', 'chatEventsDeadLetters'), ['dlq']);
});

test('a service that declares a topic outside the table fails the generation', () => {
  const stray: ServiceModule = { ...SERVICE_MODULES.ingest, produces: ['chat.nowhere'] };
  assert.throws(() => buildTopicsAsyncApi([stray]), /chat\.nowhere/);
});
