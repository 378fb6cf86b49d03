import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ChatmeshError, ERROR_CODES, renderErrorDocs, isRetriable } from '../index.js';

test('every code follows CM_ERR_<AREA>_<WHAT> and has a message and a fix', () => {
  const codes = Object.keys(ERROR_CODES);
  assert.ok(codes.length >= 5);
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^CM_ERR_[A-Z0-9]+_[A-Z0-9_]+$/, code);
    assert.ok(entry.message.length > 10, `${code} message`);
    assert.ok(entry.fix.length > 10, `${code} fix`);
  }
});

test('docs/errors.md documents exactly the codes in the table', () => {
  const docs = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(docs, renderErrorDocs(), 'docs/errors.md is stale: run `npm run docs:errors -w @chatmesh/errors`');
  const documented = [...docs.matchAll(/^\| `(CM_ERR_[A-Z0-9_]+)`/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(ERROR_CODES).sort());
});

test('ChatmeshError carries code, retriable flag from the table, cause and frozen context', () => {
  const cause = new Error('boom');
  const error = new ChatmeshError('CM_ERR_COMMON_TIMEOUT', undefined, { cause, context: { topic: 't' } });
  assert.equal(error.code, 'CM_ERR_COMMON_TIMEOUT');
  assert.equal(error.retriable, true);
  assert.equal(error.cause, cause);
  assert.equal(error.message, ERROR_CODES.CM_ERR_COMMON_TIMEOUT.message);
  assert.ok(Object.isFrozen(error.context));
  assert.equal(isRetriable(error), true);
  assert.equal(isRetriable(new Error('plain')), false);
  assert.equal(new ChatmeshError('CM_ERR_COMMON_TIMEOUT', 'x', { retriable: false }).retriable, false);
});
