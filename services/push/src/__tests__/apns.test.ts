import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { APNS_TOKEN_MIN_AGE_MS, APNS_TOKEN_REFRESH_MS, apnsCollapseId, createApnsProvider } from '../providers/apns.js';
import { makeApnsKey, startApnsStandIn, type ApnsStandIn } from '../testing/index.js';
import { wakeUp } from './helpers.js';

const key = makeApnsKey();
const TOPIC = 'com.example.chat';
let standIn: ApnsStandIn;
before(async () => {
  standIn = await startApnsStandIn({ ...key, topic: TOPIC });
});
after(async () => standIn.close());

const token = (n: number) => n.toString(16).padStart(64, '0');
const channel = (n: number, environment: 'sandbox' | 'production' = 'sandbox') =>
  ({ provider: 'apns', token: token(n), topic: TOPIC, environment }) as const;

function provider(clock?: () => number, keyPem = key.keyPem) {
  return createApnsProvider({
    ...key,
    keyPem,
    productionUrl: standIn.url,
    sandboxUrl: standIn.url,
    timeoutMs: 2_000,
    ttlSeconds: 600,
    ...(clock ? { clock } : {}),
  });
}

test('APNs: a background wake-up over HTTP/2 with a verified ES256 provider token and the APNs headers', async () => {
  const apns = provider();
  try {
    assert.deepEqual(await apns.send(channel(1), wakeUp({ badge: 4 })), { kind: 'sent' });
    const got = standIn.received.find((r) => r.deviceToken === token(1))!;
    assert.equal(got.headers['apns-push-type'], 'background');
    assert.equal(got.headers['apns-priority'], '5');
    assert.equal(got.headers['apns-topic'], TOPIC);
    assert.equal(got.headers['apns-collapse-id'], 'chat:c-1');
    const expiration = Number(got.headers['apns-expiration']);
    assert.ok(Math.abs(expiration - (Date.now() / 1000 + 600)) < 5, `expiration ${expiration}`);
    assert.deepEqual(got.payload, { aps: { 'content-available': 1, badge: 4 }, chatId: 'c-1' });
    const jwt = got.headers['authorization']!.replace('bearer ', '');
    assert.equal(decodeProtectedHeader(jwt).kid, key.keyId);
    assert.equal(decodeJwt(jwt).iss, key.teamId);
  } finally {
    await apns.close();
  }
});

test('APNs: a token signed by another key is refused by the stand-in (the signature is checked)', async () => {
  const apns = provider(undefined, makeApnsKey().keyPem);
  try {
    assert.deepEqual(await apns.send(channel(2), wakeUp()), { kind: 'rejected', reason: 'invalid_provider_token' });
  } finally {
    await apns.close();
  }
});

test('APNs: 410 Unregistered and 400 BadDeviceToken are dead; 429 and 503 retry with Retry-After', async () => {
  const apns = provider();
  try {
    standIn.script.next(token(3), { status: 410, reason: 'Unregistered' });
    assert.deepEqual(await apns.send(channel(3), wakeUp()), { kind: 'dead', reason: 'unregistered' });
    assert.deepEqual(await apns.send({ ...channel(4), token: 'not-hex' }, wakeUp()), {
      kind: 'dead',
      reason: 'bad_device_token',
    });
    standIn.script.next(token(5), { status: 429, reason: 'TooManyRequests', retryAfter: '3' });
    assert.deepEqual(await apns.send(channel(5), wakeUp()), {
      kind: 'retry',
      reason: 'too_many_requests',
      retryAfterMs: 3_000,
    });
    standIn.script.next(token(6), { status: 503, reason: 'ServiceUnavailable' });
    assert.deepEqual(await apns.send(channel(6), wakeUp()), { kind: 'retry', reason: 'http_503', retryAfterMs: null });
    assert.equal((await apns.send(channel(6), wakeUp())).kind, 'sent', 'the next attempt goes through');
  } finally {
    await apns.close();
  }
});

test('APNs: one provider token for 50 minutes, a new one after; an early expiry renews only past 20 minutes', async () => {
  let now = Date.now();
  const apns = provider(() => now);
  try {
    await apns.send(channel(7), wakeUp());
    now += 10 * 60 * 1000;
    await apns.send(channel(7), wakeUp());
    assert.equal(apns.tokensSigned(), 1, 'reused within 50 minutes');
    // APNs says it expired at 10 minutes: too early to renew (TooManyProviderTokenUpdates), so it is retried as is.
    standIn.script.next(
      token(8),
      { status: 403, reason: 'ExpiredProviderToken' },
      { status: 403, reason: 'ExpiredProviderToken' },
    );
    assert.deepEqual(await apns.send(channel(8), wakeUp()), {
      kind: 'retry',
      reason: 'expired_provider_token',
      retryAfterMs: null,
    });
    assert.equal(apns.tokensSigned(), 1);
    now += APNS_TOKEN_MIN_AGE_MS;
    standIn.script.next(token(9), { status: 403, reason: 'ExpiredProviderToken' });
    assert.deepEqual(await apns.send(channel(9), wakeUp()), { kind: 'sent' }, 'renewed past 20 minutes, then sent');
    assert.equal(apns.tokensSigned(), 2);
    now += APNS_TOKEN_REFRESH_MS;
    await apns.send(channel(7), wakeUp());
    assert.equal(apns.tokensSigned(), 3, 'renewed after 50 minutes');
  } finally {
    await apns.close();
  }
});

test('APNs: a collapse key longer than 64 bytes is hashed to fit', () => {
  assert.equal(apnsCollapseId('chat:short'), 'chat:short');
  const long = apnsCollapseId(`chat:${'x'.repeat(100)}`);
  assert.ok(Buffer.byteLength(long) <= 64);
  assert.notEqual(long, apnsCollapseId(`chat:${'y'.repeat(100)}`));
});
