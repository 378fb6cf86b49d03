import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { randomName } from '@chatmesh/testing';
import { errorBodySchema } from '../http-schemas.js';
import { buildOpenApiDocument, HTTP_ROUTES, OPENAPI_ROUTE } from '../index.js';
import { startHarness, tryUpgrade, type Harness } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'chatmesh-gateway-openapi-'));
let h: Harness;
let token: string;
before(async () => {
  // Embedded mode with the local attachment store and a chat page: every route of the table is registered.
  h = await startHarness({
    env: { CHATMESH_ATTACHMENT_STORE: 'local', CHATMESH_ATTACHMENT_DIR: dir },
    chatPage: async () => ({ html: '<!doctype html>', js: '' }),
  });
  token = await h.token(randomName('alice'), 'phone');
});
after(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The catch-all answer of a path no route matches. */
const isUnrouted = async (response: Response): Promise<boolean> => {
  if (response.status !== 404) return false;
  const body = (await response.json()) as { code?: string; message?: string };
  return body.code === 'CM_ERR_GATEWAY_ROUTE_NOT_FOUND' && body.message === 'no such route';
};

test('GET /v1/openapi.json serves the generated document, without a token, as shipped in docs/openapi.json', async () => {
  const response = await fetch(`${h.gateway.url}${OPENAPI_ROUTE}`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const served = (await response.json()) as Record<string, unknown>;
  assert.equal(served['openapi'], '3.1.0');
  assert.deepEqual(served, buildOpenApiDocument());
  const shipped: unknown = JSON.parse(readFileSync(new URL('../../../../docs/openapi.json', import.meta.url), 'utf8'));
  assert.deepEqual(served, shipped, 'docs/openapi.json is stale: run `npm run docs:contract -w @chatmesh/launcher`');
});

test('every route of the table is served (none falls through to the catch-all 404), and only those are', async () => {
  for (const route of HTTP_ROUTES) {
    if (route.path === '/v1/ws') {
      const upgrade = await tryUpgrade(h.wsUrl, { authorization: `Bearer ${token}` });
      assert.equal(upgrade, 'opened', 'GET /v1/ws does not upgrade');
      continue;
    }
    const path = route.path.replace(/:[A-Za-z]+/g, 'x').replace(/\*$/, 'some/key');
    const response = await fetch(`${h.gateway.url}${path}`, {
      method: route.method.toUpperCase(),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(route.method === 'put' || route.method === 'post' ? { body: '{}' } : {}),
    });
    assert.equal(await isUnrouted(response), false, `${route.method.toUpperCase()} ${route.path} is not served`);
  }
  // The check can fail: a path outside the table gets the catch-all answer.
  assert.equal(await isUnrouted(await fetch(`${h.gateway.url}/v1/not-a-route`)), true);
  assert.equal(await isUnrouted(await fetch(`${h.gateway.url}/v1/chats`, { method: 'PATCH' })), true);
});

test('the history route validates its query with the schema the document shows', async () => {
  const route = HTTP_ROUTES.find((r) => r.operationId === 'chatHistory');
  const limit = route?.query?.shape['limit'];
  assert.ok(limit !== undefined);
  assert.equal(limit.safeParse('200').success, true);
  assert.equal(limit.safeParse('201').success, false);
  const page = (query: string) =>
    fetch(`${h.gateway.url}/v1/chats/nochat/messages?${query}`, { headers: { authorization: `Bearer ${token}` } });
  for (const bad of ['limit=201', 'limit=0', 'before=-1', 'after=1e3', 'before=1&after=2']) {
    const response = await page(bad);
    assert.equal(response.status, 400, bad);
    assert.equal(((await response.json()) as { code: string }).code, 'CM_ERR_GATEWAY_BAD_REQUEST');
  }
  // Valid queries reach the membership check (no such chat for this caller).
  for (const good of ['limit=200', 'before=3', 'after=0&limit=1', 'limit=&x=1']) {
    assert.equal((await page(good)).status, 404, good);
  }
});

test('the answers are what the document says: each status is documented and each body matches its schema', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const chatId = directChatId(alice, bob);
  const phone = await h.connect(alice, 'phone');
  phone.send({ type: 'createChat', requestId: 'c', chatId, kind: 'direct', members: [bob] });
  await phone.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'create ack');
  phone.send({ type: 'send', requestId: 's', chatId, clientMessageId: 'm1', body: 'hello' });
  await phone.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 's', 'send ack');
  await phone.close();
  const aliceToken = await h.token(alice, 'phone');

  const answer = async (operationId: string, path: string, body?: unknown, bearer: string | null = aliceToken) => {
    const route = HTTP_ROUTES.find((r) => r.operationId === operationId);
    assert.ok(route !== undefined, operationId);
    const response = await fetch(`${h.gateway.url}${path}`, {
      method: route.method.toUpperCase(),
      headers: {
        'content-type': 'application/json',
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const value: unknown = await response.json();
    const documented = route.answers[response.status];
    if (documented === undefined) {
      const refusal = errorBodySchema.safeParse(value);
      const statuses = [...Object.keys(route.refusals ?? {}), ...(route.auth === 'bearer' ? ['401', '403'] : [])];
      assert.ok(statuses.includes(String(response.status)), `${operationId}: ${response.status} is not documented`);
      assert.ok(refusal.success, `${operationId}: the refusal is not an error body: ${JSON.stringify(value)}`);
      return response.status;
    }
    const parsed = documented.schema!.safeParse(value);
    assert.ok(parsed.success, `${operationId}: ${JSON.stringify(value)} does not match: ${parsed.error?.message}`);
    return response.status;
  };
  const history = `/v1/chats/${encodeURIComponent(chatId)}/messages`;
  assert.equal(await answer('listChats', '/v1/chats'), 200);
  assert.equal(await answer('chatHistory', history), 200);
  assert.equal(await answer('chatHistory', `${history}?after=0&limit=1`), 200);
  assert.equal(await answer('chatHistory', '/v1/chats/no-such-chat/messages'), 404);
  assert.equal(await answer('chatHistory', `${history}?limit=0`), 400);
  assert.equal(await answer('listChats', '/v1/chats', undefined, null), 401);
  assert.equal(await answer('listDevices', '/v1/devices'), 200);
  assert.equal(await answer('getSettings', '/v1/settings'), 200);
  assert.equal(await answer('updateSettings', '/v1/settings', { readReceipts: false }), 202);
  assert.equal(await answer('updateSettings', '/v1/settings', {}), 400);
  assert.equal(await answer('registerPushChannel', '/v1/push/channel', { provider: 'inbox' }), 202);
  assert.equal(await answer('getPushChannel', '/v1/push/channel'), 200);
  assert.equal(await answer('unregisterPushChannel', '/v1/push/channel'), 202);
  assert.equal(await answer('listPushInbox', '/v1/push/inbox'), 200);
  const sha256 = createHash('sha256').update('x').digest('base64');
  assert.equal(
    await answer('requestUpload', '/v1/attachments', { sizeBytes: 1, contentType: 'image/png', sha256 }),
    201,
  );
  assert.equal(await answer('requestDownload', '/v1/attachments/unknown'), 404);
  assert.equal(await answer('prekeyStatus', '/v1/keys'), 200);
  assert.equal(await answer('keyBundles', `/v1/keys/${encodeURIComponent(alice)}`), 404);
  assert.equal(await answer('devToken', '/v1/dev/token', { userId: 'u1', deviceId: 'd1' }, null), 200);
  assert.equal(await answer('health', '/health', undefined, null), 200);
  // The presence service (which registers devices) does not run here: the phone is unknown, a documented refusal.
  assert.equal(await answer('removeDevice', '/v1/devices/phone'), 404);
});
