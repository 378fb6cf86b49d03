import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createWebPushProvider, webPushTopic } from '../providers/web-push.js';
import { makeVapidKeys, startWebPushStandIn, type WebPushStandIn } from '../testing/index.js';
import { wakeUp } from './helpers.js';

const vapid = makeVapidKeys();
let standIn: WebPushStandIn;
before(async () => {
  standIn = await startWebPushStandIn({ vapidPublicKey: vapid.publicKey });
});
after(async () => standIn.close());

const provider = (keys = vapid) => createWebPushProvider({ vapid: keys, timeoutMs: 2_000, ttlSeconds: 600 });
const channelOf = (s: ReturnType<WebPushStandIn['subscribe']>) =>
  ({ provider: 'web_push', endpoint: s.endpoint, p256dh: s.keys.p256dh, auth: s.keys.auth }) as const;

test('Web Push: the stand-in decrypts the aes128gcm payload with the subscription key and checks VAPID', async () => {
  const subscription = standIn.subscribe();
  assert.deepEqual(await provider().send(channelOf(subscription), wakeUp({ badge: 9 })), { kind: 'sent' });
  const got = standIn.received.find((r) => r.subscriptionId === subscription.id)!;
  assert.deepEqual(got.payload, { type: 'wake', chatId: 'c-1', badge: 9 });
  assert.equal(got.headers['content-encoding'], 'aes128gcm');
  assert.equal(got.headers['ttl'], '600');
  assert.equal(got.headers['topic'], webPushTopic('chat:c-1'));
  assert.equal(got.vapid.aud, standIn.url);
  assert.equal(got.vapid.sub, vapid.subject);
});

test('Web Push: a payload encrypted for another subscription does not decrypt', async () => {
  const mine = standIn.subscribe();
  const other = standIn.subscribe();
  const outcome = await provider().send({ ...channelOf(mine), p256dh: other.keys.p256dh }, wakeUp());
  assert.deepEqual(outcome, { kind: 'rejected', reason: 'http_400' });
  assert.equal(standIn.received.filter((r) => r.subscriptionId === mine.id).length, 0);
});

test('Web Push: VAPID signed with keys the endpoint does not know is refused', async () => {
  const subscription = standIn.subscribe();
  assert.deepEqual(await provider(makeVapidKeys()).send(channelOf(subscription), wakeUp()), {
    kind: 'rejected',
    reason: 'http_403',
  });
});

test('Web Push: 404 and 410 are dead subscriptions; 429 carries Retry-After; 5xx retries', async () => {
  const gone = standIn.subscribe();
  standIn.script.next(gone.id, { status: 410 });
  assert.deepEqual(await provider().send(channelOf(gone), wakeUp()), { kind: 'dead', reason: 'gone_410' });
  const unknown = {
    provider: 'web_push',
    endpoint: `${standIn.url}/push/nobody`,
    p256dh: gone.keys.p256dh,
    auth: gone.keys.auth,
  } as const;
  assert.deepEqual(await provider().send(unknown, wakeUp()), { kind: 'dead', reason: 'gone_404' });
  const busy = standIn.subscribe();
  standIn.script.next(busy.id, { status: 429, retryAfter: '2' }, { status: 502 });
  assert.deepEqual(await provider().send(channelOf(busy), wakeUp()), {
    kind: 'retry',
    reason: 'too_many_requests',
    retryAfterMs: 2_000,
  });
  assert.deepEqual(await provider().send(channelOf(busy), wakeUp()), {
    kind: 'retry',
    reason: 'http_502',
    retryAfterMs: null,
  });
  assert.equal((await provider().send(channelOf(busy), wakeUp())).kind, 'sent');
});

test('Web Push: a subscription whose keys are not a P-256 point and a 16-byte secret is dead without a request', async () => {
  const subscription = standIn.subscribe();
  const before = standIn.answered.length;
  assert.deepEqual(await provider().send({ ...channelOf(subscription), p256dh: 'AAAA' }, wakeUp()), {
    kind: 'dead',
    reason: 'invalid_subscription',
  });
  assert.deepEqual(await provider().send({ ...channelOf(subscription), auth: 'c2hvcnQ' }, wakeUp()), {
    kind: 'dead',
    reason: 'invalid_subscription',
  });
  assert.equal(standIn.answered.length, before);
});
