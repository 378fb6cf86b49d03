import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8ByteLength } from '../chat-limits.js';

test('utf8ByteLength counts what Buffer.byteLength counts, surrogate pairs and lone surrogates included', () => {
  for (const text of ['', 'abc', 'é', '€', '😀', 'a😀b€é', '\ud800', '\udc00x', '\ud800\ud800', 'x'.repeat(70_000)]) {
    assert.equal(utf8ByteLength(text), Buffer.byteLength(text, 'utf8'), JSON.stringify(text.slice(0, 8)));
  }
});
