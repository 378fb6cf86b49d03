import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { createLocalObjectStore, localObjectCount, LOCAL_BLOB_ROUTE } from '../index.js';

const dir = mkdtempSync(join(tmpdir(), 'chatmesh-local-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = createLocalObjectStore({ dir, secret: 'x'.repeat(32), baseUrl: () => 'http://gw.test' });
const sha = (body: Buffer): string => createHash('sha256').update(body).digest('base64');

function parse(url: string): { key: string; query: URLSearchParams } {
  const parsed = new URL(url);
  return { key: parsed.pathname.slice(LOCAL_BLOB_ROUTE.length), query: parsed.searchParams };
}

test('a signed PUT stores bytes that match its size and SHA-256; HEAD and a signed GET give them back', async () => {
  const body = Buffer.from('a png, say');
  const put = await store.presignPut('att/one', {
    sizeBytes: body.length,
    contentType: 'image/png',
    sha256: sha(body),
    expiresInSeconds: 60,
  });
  assert.equal(put.method, 'PUT');
  const { key, query } = parse(put.url);
  const grant = store.verify('PUT', key, query);
  assert.equal(grant.op, 'put');
  if (grant.op !== 'put') return;
  await assert.rejects(store.writeBlob(grant, Buffer.from('a png, sax')), { code: 'CM_ERR_ATTACHMENT_MISMATCH' });
  assert.equal(await store.head('att/one'), null, 'a mismatching body stores nothing');
  await store.writeBlob(grant, body);
  assert.deepEqual(await store.head('att/one'), {
    sizeBytes: body.length,
    sha256: sha(body),
    contentType: 'image/png',
  });
  const get = parse((await store.presignGet('att/one', { expiresInSeconds: 60, fileName: 'cat.png' })).url);
  const getGrant = store.verify('GET', get.key, get.query);
  assert.deepEqual(getGrant, { op: 'get', key: 'att/one', fileName: 'cat.png' });
  assert.deepEqual((await store.readBlob('att/one'))?.body, body);
  await store.delete('att/one');
  assert.equal(await store.head('att/one'), null);
  assert.equal(await localObjectCount(dir), 0);
});

test('an expired, tampered or misused URL is CM_ERR_ATTACHMENT_URL_INVALID', async () => {
  const put = await store.presignPut('att/two', {
    sizeBytes: 3,
    contentType: 'text/plain',
    sha256: sha(Buffer.from('abc')),
    expiresInSeconds: 10,
  });
  const { key, query } = parse(put.url);
  assert.throws(() => store.verify('PUT', key, query, Date.now() + 11_000), {
    code: 'CM_ERR_ATTACHMENT_URL_INVALID',
    message: /expired/,
  });
  const bigger = new URLSearchParams(query);
  bigger.set('len', '3000000');
  assert.throws(() => store.verify('PUT', key, bigger), {
    code: 'CM_ERR_ATTACHMENT_URL_INVALID',
    message: /signature/,
  });
  assert.throws(() => store.verify('PUT', 'att/other', query), { code: 'CM_ERR_ATTACHMENT_URL_INVALID' });
  assert.throws(() => store.verify('GET', key, query), {
    code: 'CM_ERR_ATTACHMENT_URL_INVALID',
    message: /does not allow GET/,
  });
  const otherSecret = createLocalObjectStore({ dir, secret: 'y'.repeat(32) });
  assert.throws(() => otherSecret.verify('PUT', key, query), { code: 'CM_ERR_ATTACHMENT_URL_INVALID' });
  assert.doesNotThrow(() => store.verify('PUT', key, query));
});

test('multipart: parts are assembled in order into one object without a whole-object digest', async () => {
  const uploadId = await store.createMultipart('att/big', 'video/mp4');
  const parts = [Buffer.alloc(10, 1), Buffer.alloc(4, 2)];
  const etags = [];
  for (const [index, body] of parts.entries()) {
    const { key, query } = parse(
      (await store.presignPart('att/big', uploadId, index + 1, { expiresInSeconds: 60 })).url,
    );
    const grant = store.verify('PUT', key, query);
    assert.equal(grant.op, 'part');
    if (grant.op !== 'part') return;
    etags.push({ partNumber: index + 1, etag: await store.writePart(grant, body) });
  }
  await assert.rejects(store.completeMultipart('att/big', uploadId, [{ partNumber: 1, etag: '"nope"' }]), {
    code: 'CM_ERR_ATTACHMENT_NOT_UPLOADED',
  });
  await store.completeMultipart('att/big', uploadId, etags.reverse());
  assert.deepEqual(await store.head('att/big'), { sizeBytes: 14, sha256: null, contentType: 'video/mp4' });
  assert.deepEqual((await store.readBlob('att/big'))?.body, Buffer.concat(parts));
});
