import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isChatmeshError } from '@chatmesh/errors';
import {
  SCHEMA_HISTORY,
  TOPICS,
  findTopic,
  gatewayDeliveriesTopic,
  schemaNameForSubject,
  topicDefinitions,
  topicSpecs,
} from '../index.js';

test('the fixed topics, keys and schemas are the ones the design names', () => {
  const rows = Object.values(TOPICS).map((t) => [t.name, t.keyKind, t.valueSchema]);
  assert.deepEqual(rows, [
    ['chat.commands', 'chatId', 'chatmesh.chat.ChatCommand'],
    ['chat.events', 'chatId', 'chatmesh.chat.ChatEvent'],
    ['chat.broadcast', 'chatId', 'chatmesh.chat.ChatEvent'],
    ['user.inbox', 'userId', 'chatmesh.inbox.InboxEntry'],
    ['receipts', 'chatId', 'chatmesh.receipts.ReceiptReport'],
    ['receipts.failed', 'chatId', 'chatmesh.receipts.DeliveryFailed'],
    ['presence.events', 'userId', 'chatmesh.presence.PresenceEvent'],
    ['ephemeral', 'chatId', 'chatmesh.ephemeral.EphemeralEvent'],
    ['push.requests', 'userId', 'chatmesh.push.PushRequest'],
    ['push.registrations', 'userId', 'chatmesh.push.PushChannelCommand'],
  ]);
});

test('every topic has a twin with DeadLetter values, subjects follow TopicNameStrategy, schemas exist', () => {
  const all = topicDefinitions({ gatewayIds: ['gw-1', 'gw-2'] });
  const names = new Set(all.map((t) => t.name));
  assert.equal(names.size, all.length, 'topic names are unique');
  for (const t of all) {
    assert.equal(t.valueSubject, `${t.name}-value`);
    assert.ok(SCHEMA_HISTORY[t.valueSchema], `${t.valueSchema} is in schemas/`);
    assert.ok(t.partitions >= 1);
    assert.deepEqual(findTopic(t.name), t);
    assert.equal(schemaNameForSubject(t.valueSubject), t.valueSchema);
    if (t.deadLetterTopic === null) {
      assert.ok(t.name.endsWith('.dlq'));
      assert.equal(t.valueSchema, 'chatmesh.bus.DeadLetter');
    } else {
      assert.equal(t.deadLetterTopic, `${t.name}.dlq`);
      assert.ok(names.has(t.deadLetterTopic), `${t.name} has its twin`);
    }
  }
  assert.ok(names.has('gateway.gw-2.deliveries.dlq'));
  assert.equal(findTopic('chat.events.dlq.dlq'), undefined, 'no twin of a twin');
  assert.equal(findTopic('nope'), undefined);
});

test('topicSpecs gives the bus one spec per topic', () => {
  const specs = topicSpecs({ gatewayIds: ['gw-1'] });
  assert.equal(specs.length, 22);
  assert.deepEqual(
    specs.find((s) => s.name === 'gateway.gw-1.deliveries'),
    { name: 'gateway.gw-1.deliveries', partitions: 4, cleanupPolicy: 'delete', retentionMs: 86_400_000 },
  );
  assert.deepEqual(
    specs.find((s) => s.name === 'chat.commands'),
    { name: 'chat.commands', partitions: 12, cleanupPolicy: 'delete' },
  );
  assert.equal(topicSpecs({ deadLetterTwins: false }).length, 10);
});

test('gateway ids that would make ambiguous topic names are refused', () => {
  for (const bad of ['', 'a.b', 'gw 1', 'x'.repeat(101)]) {
    assert.throws(
      () => gatewayDeliveriesTopic(bad),
      (error: unknown) => isChatmeshError(error, 'CM_ERR_SCHEMA_TOPIC_NAME_INVALID'),
    );
  }
  assert.throws(
    () => schemaNameForSubject('chat.events-key'),
    (error: unknown) => isChatmeshError(error, 'CM_ERR_SCHEMA_UNKNOWN_SUBJECT'),
  );
});
