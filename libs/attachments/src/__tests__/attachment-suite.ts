/**
 * The attachment suite: the service, the reference check and the sweeper against one object store and one metadata
 * store; run with the local folder and memory (unit) and with versitygw and Cassandra (integration).
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { createMemoryRateLimiter } from '@chatmesh/rate-limit';
import type { ChatStore } from '@chatmesh/store';

import {
  AttachmentService,
  checkAttachmentReference,
  sweepOrphans,
  type ObjectStore,
  type PresignedRequest,
  type UploadPolicy,
} from '../index.js';

/** What one run of the suite works with. */
export interface AttachmentSuiteDeps {
  readonly objects: ObjectStore;
  readonly store: ChatStore;
  /** Performs a presigned request as a client would; returns the HTTP status (and the ETag of a part). */
  perform(request: PresignedRequest, body?: Buffer): Promise<{ status: number; etag?: string; body?: Buffer }>;
  close(): Promise<void>;
}

export const POLICY: UploadPolicy = {
  maxImageBytes: 1024 * 1024,
  maxVideoBytes: 20 * 1024 * 1024,
  maxAudioBytes: 1024,
  maxFileBytes: 4096,
  allowedTypes: ['image/*', 'video/*', 'text/plain'],
};
const DAY_MS = 86_400_000;
const sha = (body: Buffer): string => createHash('sha256').update(body).digest('base64');
const id = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export function runAttachmentSuite(name: string, make: () => Promise<AttachmentSuiteDeps>): void {
  describe(`attachments: ${name}`, () => {
    let deps: AttachmentSuiteDeps;
    let service: AttachmentService;
    let now = Date.now();
    const refDeps = () => ({
      objects: deps.objects,
      metadata: deps.store.attachments,
      directory: deps.store.directory,
      claimWindowMs: DAY_MS - 3_600_000,
    });
    const upload = async (userId: string, body: Buffer, contentType = 'image/png') => {
      const grant = await service.requestUpload(userId, {
        sizeBytes: body.length,
        contentType,
        sha256: sha(body),
        fileName: 'f.png',
      });
      assert.equal((await deps.perform(grant.upload, body)).status, 200);
      return grant.attachmentId;
    };
    const declared = (attachmentId: string, body: Buffer, mimeType = 'image/png') => ({
      attachmentId,
      mimeType,
      sizeBytes: body.length,
      sha256: sha(body),
    });
    const joinChat = async (chatId: string, userIds: string[]) => {
      for (const userId of userIds) {
        await deps.store.directory.addMember({
          chatId,
          userId,
          role: 'member',
          joinedSeq: 1,
          removedSeq: null,
          addedBy: userIds[0]!,
        });
      }
    };

    before(async () => {
      deps = await make();
      service = new AttachmentService({
        objects: deps.objects,
        metadata: deps.store.attachments,
        directory: deps.store.directory,
        limiter: createMemoryRateLimiter({ ratePerSecond: 1, burst: 1000 }),
        policy: POLICY,
        urlTtlSeconds: 60,
        clock: () => now,
      });
    });
    after(async () => {
      await deps.close();
    });

    test('upload → reference → download: the uploader sends it, a member of the chat downloads the same bytes', async () => {
      const [alice, bob, chatId] = [id('alice'), id('bob'), id('chat')];
      const body = Buffer.from(`png bytes ${randomUUID()}`);
      const attachmentId = await upload(alice, body);
      assert.match(attachmentId, /^[A-Za-z0-9_-]{22}$/, 'a server-chosen 128-bit id');
      await joinChat(chatId, [alice, bob]);
      assert.deepEqual(
        await checkAttachmentReference(refDeps(), alice, attachmentId, declared(attachmentId, body), now),
        [],
      );
      await deps.store.attachments.addRef({
        attachmentId,
        chatId,
        refKey: 'send:a:1',
        byUserId: alice,
        createdAtMs: now,
      });
      const download = await service.downloadUrl(bob, attachmentId);
      const got = await deps.perform(download);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, body);
    });

    test('a PUT whose bytes differ from the declared SHA-256 is refused by the store, and nothing is stored', async () => {
      const alice = id('alice');
      const body = Buffer.from('the real bytes');
      const grant = await service.requestUpload(alice, {
        sizeBytes: body.length,
        contentType: 'image/png',
        sha256: sha(body),
      });
      const refused = await deps.perform(grant.upload, Buffer.from('the fake bytes'));
      assert.ok(refused.status >= 400, `status ${refused.status}`);
      await assert.rejects(
        checkAttachmentReference(refDeps(), alice, grant.attachmentId, declared(grant.attachmentId, body), now),
        { code: 'CM_ERR_ATTACHMENT_NOT_UPLOADED' },
      );
    });

    test('oversize and disallowed uploads are refused before anything is signed or stored', async () => {
      const alice = id('alice');
      const before = await deps.store.attachments.createdBetween(now - 1000, now + 1000, 10_000);
      await assert.rejects(
        service.requestUpload(alice, {
          sizeBytes: POLICY.maxImageBytes + 1,
          contentType: 'image/jpeg',
          sha256: sha(Buffer.from('x')),
        }),
        { code: 'CM_ERR_ATTACHMENT_TOO_LARGE' },
      );
      await assert.rejects(
        service.requestUpload(alice, {
          sizeBytes: 10,
          contentType: 'application/x-msdownload',
          sha256: sha(Buffer.from('x')),
        }),
        { code: 'CM_ERR_ATTACHMENT_TYPE_NOT_ALLOWED' },
      );
      await assert.rejects(
        service.requestUpload(alice, { sizeBytes: 10, contentType: 'text/plain', sha256: 'not-a-digest' }),
        {
          code: 'CM_ERR_ATTACHMENT_INVALID_REQUEST',
        },
      );
      const afterwards = await deps.store.attachments.createdBetween(now - 1000, now + 1000, 10_000);
      assert.equal(afterwards.length, before.length, 'no attachment was reserved');
    });

    test('the per-user upload rate is enforced with CM_ERR_ATTACHMENT_RATE_LIMITED', async () => {
      const limited = new AttachmentService({
        objects: deps.objects,
        metadata: deps.store.attachments,
        directory: deps.store.directory,
        limiter: createMemoryRateLimiter({ ratePerSecond: 0.001, burst: 2 }),
        policy: POLICY,
        urlTtlSeconds: 60,
      });
      const carol = id('carol');
      const request = { sizeBytes: 1, contentType: 'text/plain', sha256: sha(Buffer.from('x')) };
      await limited.requestUpload(carol, request);
      await limited.requestUpload(carol, request);
      await assert.rejects(
        limited.requestUpload(carol, request),
        (error: Error & { code?: string; context?: Record<string, unknown> }) => {
          assert.equal(error.code, 'CM_ERR_ATTACHMENT_RATE_LIMITED');
          assert.ok(Number(error.context?.['retryAfterMs']) > 0);
          return true;
        },
      );
      await limited.requestUpload(id('dave'), request);
    });

    test("another user's upload: refused as a reference, unless a chat of the sender carries it (a forward); a non-member cannot download it", async () => {
      const [alice, mallory, bob, chatId, other] = [id('alice'), id('mallory'), id('bob'), id('chat'), id('chat')];
      const body = Buffer.from('private photo');
      const attachmentId = await upload(alice, body);
      await assert.rejects(
        checkAttachmentReference(refDeps(), mallory, attachmentId, declared(attachmentId, body), now),
        {
          code: 'CM_ERR_ATTACHMENT_NOT_OWNER',
        },
      );
      await assert.rejects(service.downloadUrl(mallory, attachmentId), { code: 'CM_ERR_ATTACHMENT_NOT_FOUND' });
      await assert.rejects(
        service.downloadUrl(bob, attachmentId),
        { code: 'CM_ERR_ATTACHMENT_NOT_FOUND' },
        'not sent yet',
      );
      await joinChat(chatId, [alice, bob]);
      await deps.store.attachments.addRef({
        attachmentId,
        chatId,
        refKey: 'send:a:1',
        byUserId: alice,
        createdAtMs: now,
      });
      // Bob sees it in the chat, so he may forward it to another chat of his; Mallory still may not.
      await checkAttachmentReference(refDeps(), bob, attachmentId, declared(attachmentId, body), now);
      await assert.rejects(
        checkAttachmentReference(refDeps(), mallory, attachmentId, declared(attachmentId, body), now),
        {
          code: 'CM_ERR_ATTACHMENT_NOT_OWNER',
        },
      );
      await deps.store.attachments.addRef({
        attachmentId,
        chatId: other,
        refKey: 'send:b:1',
        byUserId: bob,
        createdAtMs: now,
      });
      await joinChat(other, [bob, mallory]);
      assert.equal(
        (await deps.perform(await service.downloadUrl(mallory, attachmentId))).status,
        200,
        'now a member of a chat that carries it',
      );
    });

    test('a reference must declare what was uploaded; a first use after the claim window is expired', async () => {
      const alice = id('alice');
      const body = Buffer.from('declared bytes');
      const attachmentId = await upload(alice, body);
      await assert.rejects(
        checkAttachmentReference(
          refDeps(),
          alice,
          attachmentId,
          { ...declared(attachmentId, body), sizeBytes: body.length + 1 },
          now,
        ),
        { code: 'CM_ERR_ATTACHMENT_MISMATCH' },
      );
      await assert.rejects(
        checkAttachmentReference(
          refDeps(),
          alice,
          attachmentId,
          { ...declared(attachmentId, body), sha256: sha(Buffer.from('other')) },
          now,
        ),
        { code: 'CM_ERR_ATTACHMENT_MISMATCH' },
      );
      await assert.rejects(
        checkAttachmentReference(refDeps(), alice, attachmentId, declared(attachmentId, body, 'image/gif'), now),
        {
          code: 'CM_ERR_ATTACHMENT_MISMATCH',
        },
      );
      await assert.rejects(checkAttachmentReference(refDeps(), alice, 'no-such-attachment', declared('x', body), now), {
        code: 'CM_ERR_ATTACHMENT_NOT_FOUND',
      });
      await assert.rejects(
        checkAttachmentReference(refDeps(), alice, attachmentId, declared(attachmentId, body), now + DAY_MS),
        {
          code: 'CM_ERR_ATTACHMENT_EXPIRED',
        },
      );
      const text = await upload(alice, Buffer.from('hello'), 'text/plain');
      await assert.rejects(
        checkAttachmentReference(refDeps(), alice, text, null, now),
        { code: 'CM_ERR_ATTACHMENT_MISMATCH' },
        'a group picture is an image',
      );
      await checkAttachmentReference(refDeps(), alice, attachmentId, null, now);
    });

    test('multipart: create, presign parts, upload, complete; the object has the declared size', async () => {
      const alice = id('alice');
      const body = Buffer.alloc(5 * 1024 * 1024 + 7, 7);
      const grant = await service.requestMultipartUpload(alice, {
        sizeBytes: body.length,
        contentType: 'video/mp4',
        sha256: sha(body),
        partSizeBytes: 5 * 1024 * 1024,
      });
      assert.equal(grant.partCount, 2);
      await assert.rejects(service.presignParts(id('mallory'), grant.attachmentId, [1]), {
        code: 'CM_ERR_ATTACHMENT_NOT_FOUND',
      });
      await assert.rejects(service.presignParts(alice, grant.attachmentId, [3]), {
        code: 'CM_ERR_ATTACHMENT_INVALID_REQUEST',
      });
      const urls = await service.presignParts(alice, grant.attachmentId, [1, 2]);
      const parts = [];
      for (const [index, url] of urls.entries()) {
        const chunk = body.subarray(index * grant.partSizeBytes, (index + 1) * grant.partSizeBytes);
        const put = await deps.perform(url, chunk);
        assert.equal(put.status, 200);
        parts.push({ partNumber: index + 1, etag: put.etag! });
      }
      await assert.rejects(
        checkAttachmentReference(
          refDeps(),
          alice,
          grant.attachmentId,
          declared(grant.attachmentId, body, 'video/mp4'),
          now,
        ),
        { code: 'CM_ERR_ATTACHMENT_NOT_UPLOADED' },
        'not complete yet',
      );
      await service.completeMultipartUpload(alice, grant.attachmentId, parts);
      await checkAttachmentReference(
        refDeps(),
        alice,
        grant.attachmentId,
        declared(grant.attachmentId, body, 'video/mp4'),
        now,
      );
    });

    test('the sweeper removes uploads never sent once older than the TTL, and keeps referenced ones', async () => {
      const alice = id('alice');
      // A time of its own, far from other tests' uploads.
      const saved = now;
      now = Date.UTC(2030, 0, 1) + Math.floor(Math.random() * 10_000) * DAY_MS;
      try {
        const orphan = await upload(alice, Buffer.from('never sent'));
        const sent = await upload(alice, Buffer.from('sent'));
        await deps.store.attachments.addRef({
          attachmentId: sent,
          chatId: id('chat'),
          refKey: 'send:a:2',
          byUserId: alice,
          createdAtMs: now,
        });
        const sweep = { objects: deps.objects, metadata: deps.store.attachments, orphanTtlMs: DAY_MS };
        assert.deepEqual(await sweepOrphans(sweep, now + DAY_MS - 1000), [], 'younger than the TTL');
        assert.deepEqual(await sweepOrphans(sweep, now + DAY_MS + 1000), [orphan]);
        assert.equal(await deps.store.attachments.get(orphan), null);
        assert.equal(await deps.objects.head(`att/${orphan}`), null, 'the bytes are gone');
        assert.notEqual(await deps.objects.head(`att/${sent}`), null, 'a sent attachment stays');
        assert.notEqual(await deps.store.attachments.get(sent), null);
      } finally {
        now = saved;
      }
    });
  });
}
