import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeRetryDelayMs } from '@chatmesh/errors';
import { ClientError, compileClientOptions, createChatClient, toWebSocketUrl, type WebSocketLike } from '../index.js';

const factory = (): WebSocketLike => {
  throw new Error('unused');
};

test('toWebSocketUrl turns http(s) into ws(s) and appends /v1/ws once', () => {
  assert.equal(toWebSocketUrl('http://localhost:8080'), 'ws://localhost:8080/v1/ws');
  assert.equal(toWebSocketUrl('https://chat.example/base/'), 'wss://chat.example/base/v1/ws');
  assert.equal(toWebSocketUrl('ws://h:1/v1/ws?x=1'), 'ws://h:1/v1/ws');
});

test('invalid options are refused with every problem listed', () => {
  assert.throws(
    () =>
      compileClientOptions({
        url: 'ftp://x',
        tokenProvider: 'nope' as never,
        webSocketFactory: factory,
        connectTimeoutMs: -1,
        backoff: { initialDelayMs: 100, maxDelayMs: 10 },
      }),
    (error: unknown) => {
      assert.ok(error instanceof ClientError);
      assert.equal(error.code, 'CM_ERR_CLIENT_INVALID_OPTIONS');
      const problems = error.context['problems'] as string[];
      assert.equal(problems.length, 4, problems.join('\n'));
      assert.match(error.message, /ftp:\/\/x/);
      assert.match(error.message, /connectTimeoutMs/);
      assert.match(error.message, /maxDelayMs \(10\)/);
      return true;
    },
  );
});

test('without a factory and without a global WebSocket the client says how to fix it', () => {
  const hadGlobal = 'WebSocket' in globalThis;
  if (hadGlobal) return; // Node 22+ has one; this machine runs Node 20.
  assert.throws(
    () => createChatClient({ url: 'ws://x', tokenProvider: () => 't', autoConnect: false }),
    (error: unknown) => error instanceof ClientError && error.code === 'CM_ERR_CLIENT_NO_WEBSOCKET',
  );
});

test('the default backoff is full jitter, exponential and capped at 30 s', () => {
  const { backoff } = compileClientOptions({ url: 'ws://x', tokenProvider: () => 't', webSocketFactory: factory });
  assert.deepEqual(
    [backoff.initialDelayMs, backoff.maxDelayMs, backoff.multiplier, backoff.jitter],
    [500, 30_000, 2, true],
  );
  for (let attempt = 1; attempt <= 20; attempt++) {
    const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
    assert.equal(
      computeRetryDelayMs(backoff, attempt, () => 0),
      0,
    );
    const high = computeRetryDelayMs(backoff, attempt, () => 0.999999);
    assert.ok(high <= ceiling && high >= ceiling - 1, `attempt ${attempt}: ${high} vs ${ceiling}`);
  }
  const samples = Array.from({ length: 200 }, () => computeRetryDelayMs(backoff, 4));
  assert.ok(samples.every((d) => d >= 0 && d <= 4000));
  assert.ok(new Set(samples).size > 100, 'jittered');
});
