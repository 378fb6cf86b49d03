/**
 * Attachments end to end (issue 17): upload through the HTTP API and a presigned URL, send by reference,
 * `messageReceived` + `newAttachment` to the members, download by members only, the refusals, and orphan removal.
 * Written once; run embedded (local folder behind the gateway's signed blob URLs) and on the stack (versitygw).
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { sweepOrphans, type ObjectStore } from '@chatmesh/attachments';
import { directChatId } from '@chatmesh/protocol';

import type { ExperienceSystem } from './experience-system.js';
import { WsUser } from './ws-user.js';

/** The upload limits the suite's systems run with (small, so "too large" is cheap to provoke). */
export const ATTACHMENT_TEST_ENV: Readonly<Record<string, string>> = Object.freeze({
  CHATMESH_ATTACHMENT_MAX_IMAGE_BYTES: String(2 * 1024 * 1024),
  CHATMESH_ATTACHMENT_ALLOWED_TYPES: 'image/*,text/plain',
  CHATMESH_ATTACHMENT_URL_TTL_SECONDS: '10',
});

/** Options of {@link defineAttachmentSuite}. */
export interface AttachmentSuiteOptions {
  readonly name: string;
  readonly createSystem: () => Promise<ExperienceSystem>;
  /** The object store the system writes to, opened by the test (for the sweeper and to look at objects). */
  readonly openObjects: () => Promise<ObjectStore>;
}

/** A 1x1 PNG followed by random bytes, so each test's image is different. */
export function pngBytes(): Buffer {
  const header = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    'base64',
  );
  return Buffer.concat([header, Buffer.from(randomUUID())]);
}

const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('base64');
const DAY_MS = 86_400_000;

export function defineAttachmentSuite(options: AttachmentSuiteOptions): void {
  describe(options.name, { timeout: 600_000 }, () => {
    let system: ExperienceSystem;
    let objects: ObjectStore;
    const open: WsUser[] = [];
    before(async () => {
      system = await options.createSystem();
      objects = await options.openObjects();
    });
    after(async () => {
      await Promise.allSettled(open.map((user) => user.close()));
      await objects?.close();
      await system?.close();
    });

    const gateway = (index = 0): string => system.gatewayUrls[index % system.gatewayUrls.length]!;
    const connect = async (userId: string, gatewayIndex = 0): Promise<WsUser> => {
      const user = await WsUser.connect(gateway(gatewayIndex), await system.token(userId, 'phone'), {
        userId,
        deviceId: 'phone',
      });
      open.push(user);
      return user;
    };
    const api = async (userId: string, method: string, path: string, body?: unknown) => {
      const response = await fetch(`${gateway()}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await system.token(userId, 'phone')}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    /** Asks for an upload and PUTs the bytes to the presigned URL; returns the reference a message carries. */
    const upload = async (userId: string, body: Buffer, contentType = 'image/png', fileName = 'photo.png') => {
      const granted = await api(userId, 'POST', '/v1/attachments', {
        sizeBytes: body.length,
        contentType,
        sha256: sha256(body),
        fileName,
      });
      assert.equal(granted.status, 201, JSON.stringify(granted.json));
      const put = granted.json['upload'] as { method: string; url: string; headers: Record<string, string> };
      const stored = await fetch(put.url, { method: put.method, headers: put.headers, body });
      assert.equal(stored.status, 200, await stored.text());
      return {
        attachmentId: granted.json['attachmentId'] as string,
        mimeType: contentType,
        sizeBytes: body.length,
        sha256: sha256(body),
        fileName,
      };
    };
    const download = async (userId: string, attachmentId: string) => {
      const answer = await api(userId, 'GET', `/v1/attachments/${attachmentId}`);
      if (answer.status !== 200) return { status: answer.status, code: answer.json['code'] as string };
      const got = await fetch((answer.json['download'] as { url: string }).url);
      return { status: got.status, body: Buffer.from(await got.arrayBuffer()) };
    };
    const sendWith = (user: WsUser, chatId: string, attachments: unknown[], body?: string) => {
      const requestId = user.requestId();
      user.send({
        type: 'send',
        requestId,
        chatId,
        clientMessageId: `m-${randomUUID()}`,
        attachments,
        ...(body ? { body } : {}),
      });
      return requestId;
    };
    const answerTo = (user: WsUser, requestId: string) =>
      Promise.race([
        user.waitFrame('ack', (f) => f.requestId === requestId, 60_000),
        user.waitFrame('reject', (f) => f.requestId === requestId, 60_000),
      ]);

    test('1:1: upload → send → messageReceived + newAttachment → the other member downloads the same bytes', async () => {
      const [a, b] = [`alice-${randomUUID()}`, `bob-${randomUUID()}`];
      const [alice, bob] = [await connect(a), await connect(b, 1)];
      const chatId = directChatId(a, b);
      await alice.createChat(chatId, 'direct', [b]);
      const image = pngBytes();
      const ref = await upload(a, image);
      const requestId = sendWith(alice, chatId, [ref], 'look');
      const ack = await answerTo(alice, requestId);
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      const seq = (ack as { seq: number }).seq;
      const received = await bob.waitFrame('messageReceived', (f) => f.chatId === chatId && f.seq === seq, 60_000);
      assert.deepEqual(received.attachments, [ref]);
      const announced = await bob.waitFrame('newAttachment', (f) => f.chatId === chatId && f.seq === seq, 60_000);
      assert.deepEqual(announced.attachment, ref);
      assert.ok(bob.frames.indexOf(received) < bob.frames.indexOf(announced), 'newAttachment follows its message');
      const got = await download(b, ref.attachmentId);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, image);
      assert.equal((await download(`stranger-${randomUUID()}`, ref.attachmentId)).code, 'CM_ERR_ATTACHMENT_NOT_FOUND');
    });

    test('group: every member gets newAttachment and can download; a non-member cannot; the group picture takes the same path', async () => {
      const [a, b, c, d] = ['alice', 'bob', 'carol', 'dave'].map((n) => `${n}-${randomUUID()}`) as [
        string,
        string,
        string,
        string,
      ];
      const [alice, bob, carol] = [await connect(a), await connect(b, 1), await connect(c)];
      const chatId = `group-${randomUUID()}`;
      await alice.createChat(chatId, 'group', [b, c]);
      const ref = await upload(a, pngBytes(), 'image/png', 'team.png');
      const ack = await answerTo(alice, sendWith(alice, chatId, [ref]));
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      for (const member of [bob, carol]) {
        const frame = await member.waitFrame('newAttachment', (f) => f.chatId === chatId, 60_000);
        assert.equal(frame.attachment.attachmentId, ref.attachmentId);
      }
      assert.equal((await download(c, ref.attachmentId)).status, 200);
      assert.equal((await download(d, ref.attachmentId)).code, 'CM_ERR_ATTACHMENT_NOT_FOUND', 'dave is not a member');

      const picture = await upload(a, pngBytes(), 'image/png', 'avatar.png');
      const requestId = alice.requestId();
      alice.send({ type: 'updateChat', requestId, chatId, pictureAttachmentId: picture.attachmentId });
      const updated = await answerTo(alice, requestId);
      assert.equal(updated.type, 'ack', JSON.stringify(updated));
      const changed = await bob.waitFrame('chatUpdated', (f) => f.chatId === chatId, 60_000);
      assert.equal(changed.pictureAttachmentId, picture.attachmentId);
      assert.equal((await download(b, picture.attachmentId)).status, 200);
      assert.equal((await download(d, picture.attachmentId)).code, 'CM_ERR_ATTACHMENT_NOT_FOUND');
    });

    test('refusals: oversize and disallowed types before upload; tampered and expired URLs; another user’s upload; nothing stored', async () => {
      const [a, m] = [`alice-${randomUUID()}`, `mallory-${randomUUID()}`];
      const tooBig = await api(a, 'POST', '/v1/attachments', {
        sizeBytes: 2 * 1024 * 1024 + 1,
        contentType: 'image/jpeg',
        sha256: sha256(Buffer.from('x')),
      });
      assert.deepEqual([tooBig.status, tooBig.json['code']], [413, 'CM_ERR_ATTACHMENT_TOO_LARGE']);
      const exe = await api(a, 'POST', '/v1/attachments', {
        sizeBytes: 100,
        contentType: 'application/x-msdownload',
        sha256: sha256(Buffer.from('x')),
      });
      assert.deepEqual([exe.status, exe.json['code']], [415, 'CM_ERR_ATTACHMENT_TYPE_NOT_ALLOWED']);

      // A tampered URL (another key) and a body that is not the declared one are refused by the store.
      const body = pngBytes();
      const granted = await api(a, 'POST', '/v1/attachments', {
        sizeBytes: body.length,
        contentType: 'image/png',
        sha256: sha256(body),
      });
      const put = granted.json['upload'] as { method: string; url: string; headers: Record<string, string> };
      const tampered = put.url.replace(
        granted.json['attachmentId'] as string,
        `x${(granted.json['attachmentId'] as string).slice(1)}`,
      );
      assert.equal((await fetch(tampered, { method: 'PUT', headers: put.headers, body })).status, 403);
      const wrongBytes = Buffer.from(body);
      wrongBytes.writeUInt8(wrongBytes.readUInt8(wrongBytes.length - 1) ^ 1, wrongBytes.length - 1);
      assert.ok((await fetch(put.url, { method: 'PUT', headers: put.headers, body: wrongBytes })).status >= 400);
      assert.equal(await objects.head(`att/${granted.json['attachmentId'] as string}`), null, 'nothing stored');

      // Mallory refers to Alice's upload in a chat of her own: refused with a code, no message stored.
      const ref = await upload(a, pngBytes());
      const mallory = await connect(m);
      const chatId = `group-${randomUUID()}`;
      await mallory.createChat(chatId, 'group', [`someone-${randomUUID()}`]);
      const stolen = await answerTo(mallory, sendWith(mallory, chatId, [ref]));
      assert.deepEqual([stolen.type, (stolen as { code?: string }).code], ['reject', 'CM_ERR_ATTACHMENT_NOT_OWNER']);
      assert.deepEqual(
        (await system.store.chatLog.readAfter(chatId, 1, 10)).length,
        0,
        'only the creation is in the log',
      );
      // A reference whose bytes were never uploaded is refused too.
      const missing = await api(m, 'POST', '/v1/attachments', {
        sizeBytes: body.length,
        contentType: 'image/png',
        sha256: sha256(body),
      });
      const notUploaded = await answerTo(
        mallory,
        sendWith(mallory, chatId, [
          {
            attachmentId: missing.json['attachmentId'],
            mimeType: 'image/png',
            sizeBytes: body.length,
            sha256: sha256(body),
          },
        ]),
      );
      assert.equal((notUploaded as { code?: string }).code, 'CM_ERR_ATTACHMENT_NOT_UPLOADED');

      // URLs live CHATMESH_ATTACHMENT_URL_TTL_SECONDS (10 s here).
      const late = await api(a, 'POST', '/v1/attachments', {
        sizeBytes: body.length,
        contentType: 'image/png',
        sha256: sha256(body),
      });
      const latePut = late.json['upload'] as { method: string; url: string; headers: Record<string, string> };
      await new Promise((resolve) => setTimeout(resolve, 11_500));
      assert.equal((await fetch(latePut.url, { method: 'PUT', headers: latePut.headers, body })).status, 403);
      assert.equal(await objects.head(`att/${late.json['attachmentId'] as string}`), null);
    });

    test('orphans: an upload never sent is removed after the TTL; one a message refers to stays', async () => {
      const [a, b] = [`alice-${randomUUID()}`, `bob-${randomUUID()}`];
      const alice = await connect(a);
      const chatId = directChatId(a, b);
      await alice.createChat(chatId, 'direct', [b]);
      const sent = await upload(a, pngBytes());
      assert.equal((await answerTo(alice, sendWith(alice, chatId, [sent]))).type, 'ack');
      const orphan = await upload(a, pngBytes());
      // The sweeper of a day from now (the gateways run theirs every CHATMESH_ATTACHMENT_SWEEP_INTERVAL_MS).
      const removed = await sweepOrphans(
        { objects, metadata: system.store.attachments, orphanTtlMs: DAY_MS },
        Date.now() + DAY_MS + 60_000,
      );
      assert.ok(removed.includes(orphan.attachmentId), `removed ${removed.join(',')}`);
      assert.ok(!removed.includes(sent.attachmentId));
      assert.equal(await objects.head(`att/${orphan.attachmentId}`), null);
      assert.equal((await download(a, orphan.attachmentId)).code, 'CM_ERR_ATTACHMENT_NOT_FOUND');
      assert.equal((await download(b, sent.attachmentId)).status, 200);
    });
  });
}
