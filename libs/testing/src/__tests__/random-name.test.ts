import assert from 'node:assert/strict';
import { test } from 'node:test';

import { randomKeyspaceName, randomName } from '../index.js';

test('names are unique, prefixed and valid Kafka topic names', () => {
  const names = new Set(Array.from({ length: 1_000 }, () => randomName('test-topic')));
  assert.equal(names.size, 1_000);
  for (const name of names) assert.match(name, /^test-topic-[0-9a-f]{12}$/);
  assert.match(randomName(), /^test-[0-9a-f]{12}$/);
});

test('keyspace names fit Cassandra: [a-z0-9_], at most 48 characters', () => {
  const name = randomKeyspaceName('Inbox-Store.Test-With-A-Rather-Long-Prefix-Beyond-Limits');
  assert.match(name, /^[a-z0-9_]+$/);
  assert.ok(name.length <= 48, name);
  assert.notEqual(randomKeyspaceName(), randomKeyspaceName());
});
