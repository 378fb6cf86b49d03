import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName } from '@chatmesh/testing';
import { SignJWT } from 'jose';
import { DEFAULT_DEV_SECRET, devTokensEnabled, isLoopbackHost } from '../index.js';
import { startHarness, type Harness } from './harness.js';

// The HTTP findings of an outside probe (issue 15, item 8), each pinned by a test.

const FAILING_USER = 'store-fails';
let h: Harness;
let token: string;
const logLines: string[] = [];

/** A memory store whose chat directory fails for one user: a 500 that must be logged. */
function storeFailingFor(userId: string): ChatStore {
  const store = createMemoryStore();
  const chatsOfUser = store.directory.chatsOfUser.bind(store.directory);
  const directory = Object.create(store.directory) as ChatStore['directory'];
  Object.assign(directory, {
    chatsOfUser: async (user: string) => {
      if (user === userId) throw new Error('the store is down');
      return chatsOfUser(user);
    },
  });
  return Object.assign(Object.create(store) as ChatStore, { directory });
}

before(async () => {
  h = await startHarness({
    store: storeFailingFor(FAILING_USER),
    logLines,
    chatPage: async () => ({ html: '<html><script type="module" src="/app.js"></script></html>', js: '' }),
  });
  token = await h.token(randomName('u'), 'd');
});
after(() => h?.close());

const request = (path: string, init: RequestInit = {}, bearer: string | null = token) =>
  fetch(`${h.gateway.url}${path}`, {
    ...init,
    headers: { ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }), ...init.headers },
  });

test('malformed percent-encoding in a path answers 400 CM_ERR_GATEWAY_BAD_REQUEST, not 500', async () => {
  for (const [path, method] of [
    ['/v1/chats/%ZZ/messages', 'GET'],
    ['/v1/devices/%ZZ', 'DELETE'],
    ['/v1/devices/%E0%A4%A', 'DELETE'],
  ] as const) {
    const response = await request(path, { method });
    assert.equal(response.status, 400, `${method} ${path}`);
    assert.equal(((await response.json()) as { code: string }).code, 'CM_ERR_GATEWAY_BAD_REQUEST');
  }
});

test('a request that fails inside answers 500 and is logged with its route', async () => {
  const before = logLines.length;
  const response = await request('/v1/chats', {}, await h.token(FAILING_USER, 'd'));
  assert.equal(response.status, 500);
  assert.equal(((await response.json()) as { code: string }).code, 'CM_ERR_COMMON_INTERNAL');
  const logged = logLines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
  const line = logged.find((entry) => entry['msg'] === 'an HTTP request failed');
  assert.ok(line, 'the 500 was logged');
  assert.equal(line['level'], 'error');
  assert.equal(line['route'], 'GET /v1/chats');
});

test('a token without exp is refused with CM_ERR_AUTH_INVALID_TOKEN', async () => {
  const noExp = await new SignJWT({ did: 'd' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(randomName('u'))
    .setIssuer('chatmesh-dev')
    .setAudience('chatmesh')
    .setIssuedAt()
    .sign(new TextEncoder().encode(DEFAULT_DEV_SECRET));
  const response = await request('/v1/chats', {}, noExp);
  assert.equal(response.status, 401);
  assert.equal(((await response.json()) as { code: string }).code, 'CM_ERR_AUTH_INVALID_TOKEN');
});

test('the development token answer says it is for development only', async () => {
  const response = await request(
    '/v1/dev/token',
    { method: 'POST', body: '{"userId":"carol","deviceId":"web"}' },
    null,
  );
  assert.equal(response.status, 200);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(body['developmentOnly'], true);
  assert.match(String(body['notice']), /development only/);
});

test('development tokens are on only in embedded mode on loopback, unless switched on or off', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'chat.example.com', '128.0.0.1']) {
    assert.ok(!isLoopbackHost(host), host);
  }
  assert.equal(devTokensEnabled('embedded', 'auto', '127.0.0.1'), true);
  assert.equal(devTokensEnabled('embedded', 'auto', '0.0.0.0'), false);
  assert.equal(devTokensEnabled('embedded', 'on', '0.0.0.0'), true);
  assert.equal(devTokensEnabled('embedded', 'off', '127.0.0.1'), false);
  assert.equal(devTokensEnabled('stack', 'on', '127.0.0.1'), false);
});

test('an embedded gateway on a non-loopback address serves no development tokens by default', async () => {
  const wide = await startHarness({ env: { CHATMESH_GATEWAY_HOST: '0.0.0.0' }, withCore: false });
  try {
    const url = wide.gateway.url.replace('0.0.0.0', '127.0.0.1');
    const response = await fetch(`${url}/v1/dev/token`, { method: 'POST', body: '{"userId":"a","deviceId":"b"}' });
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as { message: string }).message, /CHATMESH_GATEWAY_DEV_TOKENS/);
  } finally {
    await wide.close();
  }
});

/** Sends a request head and then `bodyBytes` of body in chunks on a raw socket; resolves the answer and how much went out. */
async function oversizedUpload(
  head: string,
  bodyBytes: number,
): Promise<{ response: string; sentBytes: number; closed: boolean }> {
  const { port } = new URL(h.gateway.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let response = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(head);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sentBytes = 0;
  while (sentBytes < bodyBytes && !socket.destroyed && !closed) {
    if (!socket.write(chunk)) {
      await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), ended]);
    }
    sentBytes += chunk.length;
    if (response.includes('\r\n\r\n') && socket.readableEnded) closed = true;
  }
  await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  closed = socket.destroyed || socket.readableEnded;
  socket.destroy();
  return { response, sentBytes, closed };
}

test('a body over the limit answers 413 and closes the connection instead of reading on', async () => {
  const total = 64 * 1024 * 1024;
  const announced = await oversizedUpload(
    `PUT /v1/settings HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-length: ${total}\r\n\r\n`,
    total,
  );
  assert.match(announced.response, /^HTTP\/1\.1 413 /);
  assert.match(announced.response, /CM_ERR_GATEWAY_BODY_TOO_LARGE/);
  assert.ok(announced.closed, 'the gateway closed the connection');
  assert.ok(announced.sentBytes < total, `the upload was cut short (${announced.sentBytes} of ${total} bytes)`);

  const chunked = await oversizedUpload(
    `POST /v1/dev/token HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${(64 * 1024).toString(16)}\r\n`,
    64 * 1024,
  );
  assert.match(chunked.response, /^HTTP\/1\.1 413 /);
});

test('answers carry security headers; the chat page a Content-Security-Policy that forbids framing', async () => {
  const page = await fetch(`${h.gateway.url}/`);
  assert.equal(page.status, 200);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  const api = await request('/v1/chats');
  assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
});

test('/ready and /metrics are not served on the public gateway port; /health is', async () => {
  assert.equal((await fetch(`${h.gateway.url}/health`)).status, 200);
  for (const path of ['/ready', '/metrics']) {
    const response = await fetch(`${h.gateway.url}${path}`);
    assert.equal(response.status, 404, path);
  }
});
