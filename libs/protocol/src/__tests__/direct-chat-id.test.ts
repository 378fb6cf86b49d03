import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directChatId, isDirectChatId, isValidId } from '../index.js';

test('a direct chat id is the same whichever user asks, and differs per pair', () => {
  assert.equal(directChatId('alice', 'bob'), directChatId('bob', 'alice'));
  assert.notEqual(directChatId('alice', 'bob'), directChatId('alice', 'carol'));
  // Length-prefixed, so no choice of characters makes two pairs share an id.
  assert.notEqual(directChatId('a', 'b\nc'), directChatId('a\nb', 'c'));
  assert.ok(isDirectChatId(directChatId('alice', 'bob')));
  assert.ok(isValidId(directChatId('alice', 'bob')));
});

test('ids accept the documented alphabet only', () => {
  assert.ok(isValidId('user-1@example.com'));
  assert.equal(isValidId(''), false);
  assert.equal(isValidId('has space'), false);
  assert.equal(isValidId('x'.repeat(129)), false);
});
