import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatmeshError, compileRetryPolicy, computeRetryDelayMs, isOutage, retry } from '../index.js';

const fast = compileRetryPolicy({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 });

test('retries retriable errors and returns the first success', async () => {
  let calls = 0;
  const result = await retry(async () => {
    calls++;
    if (calls < 3) throw new ChatmeshError('CM_ERR_COMMON_TIMEOUT');
    return 'ok';
  }, fast);
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
});

test('does not retry a non-retriable error', async () => {
  let calls = 0;
  await assert.rejects(
    retry(async () => {
      calls++;
      throw new ChatmeshError('CM_ERR_COMMON_INTERNAL');
    }, fast),
    (error: unknown) => error instanceof ChatmeshError && error.code === 'CM_ERR_COMMON_INTERNAL',
  );
  assert.equal(calls, 1);
});

test('wraps exhaustion in CM_ERR_RETRY_EXHAUSTED with the last error as cause', async () => {
  const last = new ChatmeshError('CM_ERR_COMMON_TIMEOUT', 'last');
  await assert.rejects(
    retry(async () => {
      throw last;
    }, fast),
    (error: unknown) =>
      error instanceof ChatmeshError && error.code === 'CM_ERR_RETRY_EXHAUSTED' && error.cause === last,
  );
});

test('rejects a contradictory policy naming the values', () => {
  assert.throws(
    () => compileRetryPolicy({ initialDelayMs: 10, maxDelayMs: 5, maxAttempts: 0 }),
    (error: unknown) =>
      error instanceof ChatmeshError &&
      error.code === 'CM_ERR_RETRY_POLICY_INVALID' &&
      /maxAttempts/.test(error.message) &&
      /maxDelayMs \(5\)/.test(error.message),
  );
});

test('delays grow exponentially, are capped, and full jitter stays within the ceiling', () => {
  const policy = compileRetryPolicy({ initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: false });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((a) => computeRetryDelayMs(policy, a)),
    [100, 200, 400, 800, 1000],
  );
  const jittered = compileRetryPolicy({ initialDelayMs: 100, maxDelayMs: 1000 });
  assert.equal(
    computeRetryDelayMs(jittered, 3, () => 0.5),
    200,
  );
});

test('an outage is waited out past maxAttempts for its budget; other errors still run out at maxAttempts', async () => {
  const patient = compileRetryPolicy({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2, outageBudgetMs: 60_000 });
  let calls = 0;
  // Down for 10 attempts (the store is restarting), wrapped as a driver error would be, then back.
  const result = await retry(
    async () => {
      calls++;
      if (calls <= 10) throw new Error('query failed', { cause: new ChatmeshError('CM_ERR_STORE_UNAVAILABLE') });
      return 'stored';
    },
    patient,
    { shouldRetry: () => true },
  );
  assert.equal(result, 'stored');
  assert.equal(calls, 11);

  let poisonCalls = 0;
  await assert.rejects(
    retry(async () => {
      poisonCalls++;
      throw new ChatmeshError('CM_ERR_COMMON_TIMEOUT');
    }, patient),
    (error: unknown) => error instanceof ChatmeshError && error.code === 'CM_ERR_RETRY_EXHAUSTED',
  );
  assert.equal(poisonCalls, 3, 'not an outage: the usual attempts');

  const brief = compileRetryPolicy({ maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2, outageBudgetMs: 30 });
  const started = Date.now();
  await assert.rejects(
    retry(async () => {
      throw new ChatmeshError('CM_ERR_STORE_UNAVAILABLE');
    }, brief),
    (error: unknown) => error instanceof ChatmeshError && error.code === 'CM_ERR_RETRY_EXHAUSTED',
  );
  assert.ok(Date.now() - started >= 30, 'an outage longer than the budget is given up after it');
  assert.equal(isOutage(new ChatmeshError('CM_ERR_COMMON_TIMEOUT')), false);
  assert.equal(isOutage(new Error('x', { cause: new ChatmeshError('CM_ERR_BUS_BROKER_UNAVAILABLE') })), true);
});
