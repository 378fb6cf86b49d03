import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createFcmProvider } from '../providers/fcm.js';
import { makeServiceAccount, startFcmStandIn, type FcmStandIn } from '../testing/index.js';
import { wakeUp } from './helpers.js';

const account = makeServiceAccount('proj-1');
let standIn: FcmStandIn;
before(async () => {
  standIn = await startFcmStandIn({
    projectId: 'proj-1',
    clientEmail: account.client_email,
    privateKeyPem: account.private_key,
  });
});
after(async () => standIn.close());

const provider = (serviceAccount = account) =>
  createFcmProvider({
    serviceAccount,
    projectId: 'proj-1',
    baseUrl: standIn.url,
    tokenUrl: standIn.tokenUrl,
    timeoutMs: 2_000,
    ttlSeconds: 600,
  });

test('FCM: a data-only wake-up, collapsed per chat, through a token from the signed assertion', async () => {
  const fcm = provider();
  const before = standIn.received.length;
  assert.deepEqual(await fcm.send({ provider: 'fcm', token: 'tok-a' }, wakeUp()), { kind: 'sent' });
  const got = standIn.received.slice(before);
  assert.equal(got.length, 1);
  // Exactly these fields: no `notification` (no content).
  assert.deepEqual(got[0]!.message, {
    token: 'tok-a',
    data: { type: 'wake', chatId: 'c-1', badge: '3' },
    android: { collapse_key: 'chat:c-1', priority: 'HIGH', ttl: '600s' },
  });
});

test('FCM: the access token is fetched once and reused, and fetched again after a 401', async () => {
  const fcm = provider();
  const issued = standIn.tokensIssued();
  for (let i = 0; i < 3; i++)
    assert.equal((await fcm.send({ provider: 'fcm', token: 'tok-b' }, wakeUp())).kind, 'sent');
  assert.equal(fcm.accessTokenFetches(), 1);
  assert.equal(standIn.tokensIssued() - issued, 1);
  standIn.revokeAccessTokens();
  assert.deepEqual(await fcm.send({ provider: 'fcm', token: 'tok-b' }, wakeUp()), {
    kind: 'retry',
    reason: 'unauthenticated',
    retryAfterMs: null,
  });
  assert.equal((await fcm.send({ provider: 'fcm', token: 'tok-b' }, wakeUp())).kind, 'sent');
  assert.equal(fcm.accessTokenFetches(), 2);
});

test('FCM: an assertion signed with another key gets no token, and nothing is sent', async () => {
  const other = makeServiceAccount('proj-1');
  const fcm = provider({ ...other, client_email: account.client_email });
  const outcome = await fcm.send({ provider: 'fcm', token: 'tok-c' }, wakeUp());
  assert.equal(outcome.kind, 'rejected');
  assert.equal(standIn.answered.filter((a) => a.token === 'tok-c').length, 0);
});

test('FCM: UNREGISTERED and 404 are dead tokens; 429 carries Retry-After; 5xx retries; other 400s are rejected', async () => {
  const fcm = provider();
  standIn.script.next('gone', { status: 404, reason: 'UNREGISTERED' });
  assert.deepEqual(await fcm.send({ provider: 'fcm', token: 'gone' }, wakeUp()), {
    kind: 'dead',
    reason: 'unregistered',
  });
  standIn.script.next('unreg-400', { status: 400, reason: 'UNREGISTERED' });
  assert.equal((await fcm.send({ provider: 'fcm', token: 'unreg-400' }, wakeUp())).kind, 'dead');
  standIn.script.next('busy', { status: 429, reason: 'QUOTA_EXCEEDED', retryAfter: '7' });
  assert.deepEqual(await fcm.send({ provider: 'fcm', token: 'busy' }, wakeUp()), {
    kind: 'retry',
    reason: 'quota_exceeded',
    retryAfterMs: 7_000,
  });
  standIn.script.next('down', { status: 503, reason: 'UNAVAILABLE' });
  assert.deepEqual(await fcm.send({ provider: 'fcm', token: 'down' }, wakeUp()), {
    kind: 'retry',
    reason: 'http_503',
    retryAfterMs: null,
  });
  standIn.script.next('odd', { status: 400, reason: 'INVALID_ARGUMENT' });
  assert.deepEqual(await fcm.send({ provider: 'fcm', token: 'odd' }, wakeUp()), {
    kind: 'rejected',
    reason: 'invalid_argument',
  });
});
