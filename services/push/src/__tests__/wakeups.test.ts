import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isChatmeshError } from '@chatmesh/errors';
import type { PushRequest } from '@chatmesh/schemas';
import { createMemoryStore, type PushChannel, type PushChannelProvider } from '@chatmesh/store';
import { createDelivery, type Sleep } from '../delivery.js';
import type { AttemptOutcome, PushProviderAdapter, WakeUp } from '../providers/types.js';
import { createWakeUpProcessor } from '../wakeups.js';
import { metricValue, testObservability } from './helpers.js';

/** A provider that answers from a queue (then `sent`) and records what it was asked. */
function fakeProvider(name: PushChannelProvider, answers: AttemptOutcome[] = []) {
  const calls: WakeUp[] = [];
  const provider: PushProviderAdapter = {
    name,
    async send(_channel: PushChannel, wakeUp: WakeUp) {
      calls.push(wakeUp);
      return answers.shift() ?? { kind: 'sent' };
    },
    async close() {},
  };
  return { provider, calls, answers };
}

function request(overrides: Partial<PushRequest> = {}): PushRequest {
  return {
    userId: 'bob',
    requestId: 'bob/1',
    chatId: 'c-1',
    unreadCount: 2,
    newMessageCount: 1,
    upToInboxSeq: 1,
    targets: [],
    createdAtMs: 1,
    ...overrides,
  };
}

function setup(options: { providers: PushProviderAdapter[]; online?: string[]; windowMs?: number; sleeps?: number[] }) {
  const store = createMemoryStore();
  const obs = testObservability();
  let now = 1_000_000;
  const sleep: Sleep = async (ms) => void options.sleeps?.push(ms);
  const processor = createWakeUpProcessor({
    channels: store.pushChannels,
    presence: { onlineDevices: async () => (options.online ?? []).map((deviceId) => ({ deviceId })) },
    providers: new Map(options.providers.map((p) => [p.name, p])),
    disabled: new Map([['apns', 'no auth key']]),
    deliver: createDelivery({
      policy: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 5_000 },
      metrics: obs.metrics,
      sleep,
      random: () => 1,
    }),
    coalesceWindowMs: options.windowMs ?? 10_000,
    metrics: obs.metrics,
    logger: obs.logger,
    clock: () => now,
  });
  return { store, obs, processor, advance: (ms: number) => void (now += ms) };
}

test('one wake-up per device and chat per window, none for an online device, a badge and a collapse key per chat', async () => {
  const fcm = fakeProvider('fcm');
  const { store, processor, advance, obs } = setup({ providers: [fcm.provider], online: ['laptop'] });
  await store.pushChannels.put('bob', 'phone', { provider: 'fcm', token: 't-phone' }, 1);
  await store.pushChannels.put('bob', 'laptop', { provider: 'fcm', token: 't-laptop' }, 1);
  const first = await processor.process(request({ unreadCount: 5 }));
  assert.deepEqual(first.sent, ['phone']);
  assert.deepEqual(first.online, ['laptop']);
  assert.deepEqual(
    fcm.calls.map((c) => [c.deviceId, c.chatId, c.badge, c.collapseKey]),
    [['phone', 'c-1', 5, 'chat:c-1']],
  );
  assert.deepEqual((await processor.process(request({ requestId: 'bob/2' }))).coalesced, ['phone']);
  assert.deepEqual(
    (await processor.process(request({ requestId: 'bob/3', chatId: 'c-2' }))).sent,
    ['phone'],
    'another chat',
  );
  advance(10_000);
  assert.deepEqual((await processor.process(request({ requestId: 'bob/4' }))).sent, ['phone'], 'the window is over');
  assert.equal(fcm.calls.length, 3);
  assert.equal(await metricValue(obs.registry, 'chatmesh_push_coalesced_total', { reason: 'window' }), 1);
  assert.equal(await metricValue(obs.registry, 'chatmesh_push_coalesced_total', { reason: 'online' }), 4);
});

test('a dead token is deleted (exactly that registration) and counted', async () => {
  const fcm = fakeProvider('fcm', [{ kind: 'dead', reason: 'unregistered' }]);
  const { store, processor, obs } = setup({ providers: [fcm.provider] });
  await store.pushChannels.put('bob', 'phone', { provider: 'fcm', token: 'dead' }, 10);
  const outcome = await processor.process(request());
  assert.deepEqual(outcome.removed, ['phone']);
  assert.deepEqual(await store.pushChannels.list('bob'), []);
  assert.equal(await metricValue(obs.registry, 'chatmesh_push_tokens_removed_total', { provider: 'fcm' }), 1);
  // A token refreshed after the one that was used stays (the removal is versioned by the dead registration).
  await store.pushChannels.put('bob', 'phone', { provider: 'fcm', token: 'fresh' }, 20);
  await store.pushChannels.remove('bob', 'phone', 10);
  assert.equal((await store.pushChannels.list('bob')).length, 1);
});

test('retries wait for Retry-After or the backoff, whichever is longer, then the request fails with its code', async () => {
  const sleeps: number[] = [];
  const web = fakeProvider('web_push', [
    { kind: 'retry', reason: 'too_many_requests', retryAfterMs: 2_000 },
    { kind: 'retry', reason: 'http_503', retryAfterMs: null },
  ]);
  const { store, processor } = setup({ providers: [web.provider], sleeps });
  await store.pushChannels.put(
    'bob',
    'browser',
    { provider: 'web_push', endpoint: 'http://x/1', p256dh: 'p', auth: 'a' },
    1,
  );
  assert.deepEqual((await processor.process(request())).sent, ['browser']);
  assert.deepEqual(sleeps, [2_000, 200], 'Retry-After 2 s over a 100 ms backoff; then the 200 ms backoff');
  web.answers.push(
    { kind: 'retry', reason: 'http_503', retryAfterMs: null },
    { kind: 'retry', reason: 'http_503', retryAfterMs: null },
    { kind: 'retry', reason: 'http_503', retryAfterMs: null },
  );
  await assert.rejects(
    processor.process(request({ requestId: 'bob/9', chatId: 'c-9' })),
    (error: unknown) =>
      isChatmeshError(error) && error.code === 'CM_ERR_PUSH_PROVIDER_UNAVAILABLE' && error.retriable === false,
  );
  assert.equal(web.calls.length, 6, 'three attempts for the second request');
});

test('a Retry-After longer than the longest delay gives up at once; a refusal is CM_ERR_PUSH_PROVIDER_REJECTED', async () => {
  const sleeps: number[] = [];
  const fcm = fakeProvider('fcm', [
    { kind: 'retry', reason: 'quota_exceeded', retryAfterMs: 60_000 },
    { kind: 'rejected', reason: 'sender_id_mismatch' },
  ]);
  const { store, processor } = setup({ providers: [fcm.provider], sleeps });
  await store.pushChannels.put('bob', 'phone', { provider: 'fcm', token: 't' }, 1);
  await assert.rejects(
    processor.process(request()),
    (e: unknown) => isChatmeshError(e) && e.code === 'CM_ERR_PUSH_PROVIDER_UNAVAILABLE',
  );
  assert.deepEqual(sleeps, []);
  await assert.rejects(
    processor.process(request()),
    (e: unknown) => isChatmeshError(e) && e.code === 'CM_ERR_PUSH_PROVIDER_REJECTED',
  );
  assert.equal((await store.pushChannels.list('bob')).length, 1, 'a refusal is not a dead token');
});

test('a channel of a disabled provider is skipped and counted, never silently; targets narrow the devices', async () => {
  const fcm = fakeProvider('fcm');
  const { store, processor, obs } = setup({ providers: [fcm.provider] });
  await store.pushChannels.put(
    'bob',
    'iphone',
    { provider: 'apns', token: 'ab', topic: 't', environment: 'sandbox' },
    1,
  );
  await store.pushChannels.put('bob', 'phone', { provider: 'fcm', token: 't' }, 1);
  await store.pushChannels.put('bob', 'tablet', { provider: 'fcm', token: 't2' }, 1);
  const outcome = await processor.process(
    request({
      targets: [
        { deviceId: 'iphone', platform: 'APNS', token: null },
        { deviceId: 'phone', platform: 'FCM', token: null },
      ],
    }),
  );
  assert.deepEqual(outcome.disabled, ['iphone']);
  assert.deepEqual(outcome.sent, ['phone']);
  assert.equal(
    await metricValue(obs.registry, 'chatmesh_push_failed_total', { provider: 'apns', reason: 'disabled' }),
    1,
  );
});
