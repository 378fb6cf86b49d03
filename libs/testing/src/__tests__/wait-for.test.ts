import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TestingError, waitFor } from '../index.js';

test('returns the first truthy value', async () => {
  let calls = 0;
  const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
  assert.deepEqual(value, { calls: 3 });
});

test('a throwing predicate counts as not yet', async () => {
  let calls = 0;
  const value = await waitFor(
    async () => {
      calls += 1;
      if (calls < 3) throw new Error('not ready');
      return 'ready';
    },
    { intervalMs: 1 },
  );
  assert.equal(value, 'ready');
});

test('times out with CM_ERR_TESTING_WAIT_TIMEOUT, the description, and the last error as cause', async () => {
  const startedMs = Date.now();
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('broker says no');
      },
      { timeoutMs: 100, intervalMs: 10, description: '3 messages on topic t' },
    ),
    (error: unknown) => {
      assert.ok(error instanceof TestingError);
      assert.equal(error.code, 'CM_ERR_TESTING_WAIT_TIMEOUT');
      assert.match(error.message, /3 messages on topic t/);
      assert.match(error.message, /broker says no/);
      assert.equal((error.cause as Error).message, 'broker says no');
      return true;
    },
  );
  assert.ok(Date.now() - startedMs >= 100);
});

test('an abort stops the wait with the abort reason', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('test over')), 20);
  await assert.rejects(
    waitFor(() => false, { timeoutMs: 5_000, intervalMs: 5, signal: controller.signal }),
    /test over/,
  );
});
