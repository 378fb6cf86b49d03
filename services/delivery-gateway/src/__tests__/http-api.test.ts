import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig, getConfigSection } from '@chatmesh/config';
import { createLogger } from '@chatmesh/logging';
import { createMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { directChatId } from '@chatmesh/protocol';
import { createMemoryRateLimiter } from '@chatmesh/rate-limit';
import { createTypedTopics, ensureTopics } from '@chatmesh/runtime';
import { createLocalCodec, gatewayDeliveriesTopic, TOPICS } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { randomName } from '@chatmesh/testing';
import {
  createChatPageLoader,
  createTokenVerifier,
  DEFAULT_DEV_SECRET,
  GATEWAY_CONFIG,
  GATEWAY_METRICS,
  startGateway,
} from '../index.js';
import { startHarness, TestClient, type Harness } from './harness.js';

let h: Harness;
let alice: string;
let bob: string;
let chatId: string;
let aliceToken: string;
before(async () => {
  h = await startHarness();
  alice = randomName('alice');
  bob = randomName('bob');
  chatId = directChatId(alice, bob);
  aliceToken = await h.token(alice, 'phone');
  const a = await h.connect(alice, 'phone');
  a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'direct', members: [bob] });
  await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'create ack');
  for (let i = 1; i <= 5; i++) {
    a.send({ type: 'send', requestId: `r${i}`, chatId, clientMessageId: `m${i}`, body: `message ${i}` });
    await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === `r${i}`, `ack ${i}`);
  }
  await a.close();
});
after(() => h?.close());

const get = (path: string, token: string | null = aliceToken) =>
  fetch(`${h.gateway.url}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });

test('GET /v1/chats lists the caller’s chats', async () => {
  const response = await get('/v1/chats');
  assert.equal(response.status, 200);
  const body = (await response.json()) as { chats: Array<Record<string, unknown>> };
  assert.equal(body.chats.length, 1);
  assert.deepEqual(
    [body.chats[0]!['chatId'], body.chats[0]!['kind'], body.chats[0]!['role']],
    [chatId, 'direct', 'member'],
  );
  const none = (await (await get('/v1/chats', await h.token(randomName('nobody'), 'd'))).json()) as {
    chats: unknown[];
  };
  assert.deepEqual(none.chats, []);
});

test('GET /v1/chats/:chatId/messages pages the history; non-members get the same 404 as unknown chats', async () => {
  type Page = { events: Array<{ seq: number; type: string; body?: string }>; hasMore: boolean };
  const latest = (await (await get(`/v1/chats/${encodeURIComponent(chatId)}/messages?limit=2`)).json()) as Page;
  assert.deepEqual(
    latest.events.map((e) => e.seq),
    [5, 6],
  );
  assert.equal(latest.hasMore, true);
  assert.equal(latest.events[1]!.body, 'message 5');
  const older = (await (
    await get(`/v1/chats/${encodeURIComponent(chatId)}/messages?before=5&limit=10`)
  ).json()) as Page;
  assert.deepEqual(
    older.events.map((e) => [e.seq, e.type]),
    [
      [1, 'chatCreated'],
      [2, 'messageReceived'],
      [3, 'messageReceived'],
      [4, 'messageReceived'],
    ],
  );
  assert.equal(older.hasMore, false);
  const newer = (await (await get(`/v1/chats/${encodeURIComponent(chatId)}/messages?after=4&limit=1`)).json()) as Page;
  assert.deepEqual([newer.events.map((e) => e.seq), newer.hasMore], [[5], true]);

  const stranger = await h.token(randomName('mallory'), 'd');
  for (const path of [`/v1/chats/${encodeURIComponent(chatId)}/messages`, '/v1/chats/no-such-chat/messages']) {
    const response = await get(path, path.includes('no-such') ? aliceToken : stranger);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { code: string }).code, 'CM_ERR_CHAT_NOT_FOUND');
  }
  const bad = await get(`/v1/chats/${encodeURIComponent(chatId)}/messages?limit=0`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { code: string }).code, 'CM_ERR_GATEWAY_BAD_REQUEST');
  const anonymous = await get('/v1/chats', null);
  assert.equal(anonymous.status, 401);
  assert.equal(((await anonymous.json()) as { code: string }).code, 'CM_ERR_AUTH_MISSING_TOKEN');
});

test('POST /v1/dev/token (embedded) signs a token that opens a connection; /health answers', async () => {
  const response = await fetch(`${h.gateway.url}/v1/dev/token`, {
    method: 'POST',
    body: JSON.stringify({ userId: 'carol', deviceId: 'web-1' }),
  });
  assert.equal(response.status, 200);
  const { token } = (await response.json()) as { token: string };
  const client = await TestClient.open(h.wsUrl, token);
  const hello = await client.waitForFrame((f) => f.type === 'hello', 'hello');
  assert.deepEqual([hello['userId'], hello['deviceId']], ['carol', 'web-1']);
  await client.close();
  const invalid = await fetch(`${h.gateway.url}/v1/dev/token`, { method: 'POST', body: '{"userId":"has space"}' });
  assert.equal(invalid.status, 400);

  // Readiness and metrics are the ops server's (http-hardening.test.ts); the public port keeps /health.
  assert.equal((await fetch(`${h.gateway.url}/health`)).status, 200);
  const unknown = await fetch(`${h.gateway.url}/nope`);
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { code: string }).code, 'CM_ERR_GATEWAY_ROUTE_NOT_FOUND');
  assert.equal((await fetch(`${h.gateway.url}/`)).status, 404, 'no chat page in this harness');
});

test('stack mode has no development token endpoint and no chat page', async () => {
  const config = loadConfig({ env: { CHATMESH_GATEWAY_PORT: '0' }, sections: { gateway: GATEWAY_CONFIG } });
  const settings = getConfigSection(config, 'gateway', GATEWAY_CONFIG);
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const gatewayId = randomName('gw');
  await ensureTopics(bus, codec, [gatewayDeliveriesTopic(gatewayId), TOPICS.chatBroadcast]);
  const gateway = await startGateway({
    mode: 'stack',
    gatewayId,
    settings,
    logger: createLogger({ service: 'test', level: 'silent' }),
    registry,
    metrics: createMetrics(registry, GATEWAY_METRICS),
    store: createMemoryStore(),
    presence: createMemoryPresenceRegistry(),
    codec,
    typed: createTypedTopics({ bus, codec }),
    verifier: createTokenVerifier({
      mode: 'stack',
      issuer: 'i',
      audience: 'a',
      jwksUrl: 'http://127.0.0.1:1/jwks',
      devSecret: DEFAULT_DEV_SECRET,
    }),
    connectionLimiter: createMemoryRateLimiter({ ratePerSecond: 1, burst: 1 }),
    userLimiter: createMemoryRateLimiter({ ratePerSecond: 1, burst: 1 }),
    chatPage: async () => ({ html: '<html></html>', js: '' }),
    maxDevicesPerUser: 5,
  });
  try {
    const response = await fetch(`${gateway.url}/v1/dev/token`, {
      method: 'POST',
      body: '{"userId":"a","deviceId":"b"}',
    });
    assert.equal(response.status, 404);
    assert.equal((await fetch(`${gateway.url}/`)).status, 404);
  } finally {
    await gateway.stop();
    await bus.close();
  }
});

test('the chat page loader resolves null when the web-chat package is absent', async () => {
  assert.equal(await createChatPageLoader('@chatmesh/does-not-exist')(), null);
});

test('embedded mode serves the web-chat page at / and its script at /app.js', { timeout: 120_000 }, async () => {
  const page = await startHarness({ withCore: false, realChatPage: true });
  try {
    const html = await fetch(`${page.gateway.url}/`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await html.text(), /<html/i);
    const js = await fetch(`${page.gateway.url}/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await js.text()).length > 1000);
  } finally {
    await page.close();
  }
});
