import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { randomName } from '@chatmesh/testing';

import { startHarness, type Harness } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'chatmesh-gateway-attachments-'));
let h: Harness;
let alice: string;
let aliceToken: string;
before(async () => {
  h = await startHarness({
    env: {
      CHATMESH_ATTACHMENT_STORE: 'local',
      CHATMESH_ATTACHMENT_DIR: dir,
      CHATMESH_ATTACHMENT_MAX_IMAGE_BYTES: '1000',
      CHATMESH_ATTACHMENT_UPLOADS_PER_MINUTE: '8',
    },
  });
  alice = randomName('alice');
  aliceToken = await h.token(alice, 'phone');
});
after(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('base64');
const post = (path: string, body: unknown, token: string | null = aliceToken) =>
  fetch(`${h.gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

test('the attachment API needs a bearer token and a well-formed body', async () => {
  const body = { sizeBytes: 10, contentType: 'image/png', sha256: sha256(Buffer.from('x')) };
  const anonymous = await post('/v1/attachments', body, null);
  assert.equal(anonymous.status, 401);
  assert.equal(((await anonymous.json()) as { code: string }).code, 'CM_ERR_AUTH_MISSING_TOKEN');
  const notJson = await post('/v1/attachments', '{');
  assert.equal(notJson.status, 400);
  const extra = await post('/v1/attachments', { ...body, owner: 'mallory' });
  assert.deepEqual(
    [extra.status, ((await extra.json()) as { code: string }).code],
    [400, 'CM_ERR_GATEWAY_BAD_REQUEST'],
  );
  const tooBig = await post('/v1/attachments', { ...body, sizeBytes: 1001 });
  assert.deepEqual(
    [tooBig.status, ((await tooBig.json()) as { code: string }).code],
    [413, 'CM_ERR_ATTACHMENT_TOO_LARGE'],
  );
});

test('a signed blob URL takes exactly the signed bytes and type; the uploader downloads them; others get 404', async () => {
  const bytes = Buffer.from('png bytes');
  const granted = await post('/v1/attachments', {
    sizeBytes: bytes.length,
    contentType: 'image/png',
    sha256: sha256(bytes),
    fileName: 'a.png',
  });
  assert.equal(granted.status, 201);
  const { attachmentId, upload } = (await granted.json()) as {
    attachmentId: string;
    upload: { method: string; url: string; headers: Record<string, string> };
  };
  assert.ok(upload.url.startsWith(`${h.gateway.url}/v1/blobs/att/${attachmentId}?`));
  const put = (url: string, body: Buffer, headers = upload.headers) => fetch(url, { method: 'PUT', headers, body });
  const wrongType = await put(upload.url, bytes, { 'content-type': 'text/html' });
  assert.equal(wrongType.status, 403);
  const wrongBytes = await put(upload.url, Buffer.from('png bytez'));
  assert.deepEqual(
    [wrongBytes.status, ((await wrongBytes.json()) as { code: string }).code],
    [409, 'CM_ERR_ATTACHMENT_MISMATCH'],
  );
  const tampered = await put(upload.url.replace('len=', 'len=1'), bytes);
  assert.deepEqual(
    [tampered.status, ((await tampered.json()) as { code: string }).code],
    [403, 'CM_ERR_ATTACHMENT_URL_INVALID'],
  );
  assert.equal((await put(upload.url, bytes)).status, 200);

  const link = await fetch(`${h.gateway.url}/v1/attachments/${attachmentId}`, {
    headers: { authorization: `Bearer ${aliceToken}` },
  });
  const { download } = (await link.json()) as { download: { url: string } };
  const got = await fetch(download.url);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('content-type'), 'image/png');
  assert.match(got.headers.get('content-disposition') ?? '', /a\.png/);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes);
  // A download URL is not an upload URL.
  assert.equal((await put(download.url, bytes)).status, 403);
  const other = await fetch(`${h.gateway.url}/v1/attachments/${attachmentId}`, {
    headers: { authorization: `Bearer ${await h.token(randomName('mallory'), 'phone')}` },
  });
  assert.deepEqual(
    [other.status, ((await other.json()) as { code: string }).code],
    [404, 'CM_ERR_ATTACHMENT_NOT_FOUND'],
  );
});

test('upload requests beyond the per-user rate are 429 with retryAfterMs', async () => {
  const carolToken = await h.token(randomName('carol'), 'phone');
  const body = { sizeBytes: 10, contentType: 'image/png', sha256: sha256(Buffer.from('x')) };
  const statuses: number[] = [];
  let refused: { code?: string; retryAfterMs?: number } = {};
  // 8 per minute: a burst of 2, then refusals.
  for (let i = 0; i < 4; i++) {
    const response = await post('/v1/attachments', body, carolToken);
    statuses.push(response.status);
    if (response.status === 429) refused = (await response.json()) as typeof refused;
  }
  assert.deepEqual(statuses, [201, 201, 429, 429]);
  assert.equal(refused.code, 'CM_ERR_ATTACHMENT_RATE_LIMITED');
  assert.ok((refused.retryAfterMs ?? 0) > 0);
  assert.equal((await post('/v1/attachments', body)).status, 201, 'another user is not limited');
});
