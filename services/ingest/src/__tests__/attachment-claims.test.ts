import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { createLocalObjectStore, type ObjectStore } from '@chatmesh/attachments';
import { createMemoryBus } from '@chatmesh/bus';
import { createLogger } from '@chatmesh/logging';
import { createTypedProducer } from '@chatmesh/runtime';
import { createLocalCodec, topicSpecs, type ChatCommand } from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';

import { createCommandProcessor } from '../command-processor.js';

const dir = mkdtempSync(join(tmpdir(), 'chatmesh-ingest-attachments-'));
const bus = createMemoryBus();
after(async () => {
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});
const objects = createLocalObjectStore({ dir, secret: 'i'.repeat(32), baseUrl: () => 'http://gw.test' });
const sha = (body: Buffer): Buffer => createHash('sha256').update(body).digest();

async function processorWith(store: ChatStore, attachments: ObjectStore | null) {
  const codec = createLocalCodec();
  await bus.admin.createTopics(topicSpecs({ gatewayIds: ['gw'] })).catch(() => {});
  return createCommandProcessor({
    store,
    codec,
    bus,
    typed: createTypedProducer(bus, codec),
    logger: createLogger({ service: 'test', level: 'silent' }),
    ...(attachments
      ? { attachments: { objects: attachments, metadata: store.attachments, claimWindowMs: 60_000 } }
      : {}),
  });
}

let request = 0;
const command = (chatId: string, userId: string, body: ChatCommand['command']): ChatCommand => ({
  chatId,
  origin: { userId, deviceId: 'phone', gatewayId: 'gw', requestId: `r${++request}`, receivedAtMs: 1 },
  command: body,
  traceparent: null,
});
const sendWith = (chatId: string, userId: string, id: string, attachmentId: string, body: Buffer): ChatCommand =>
  command(chatId, userId, {
    'chatmesh.chat.SendMessage': {
      afterClientMessageId: null,
      clientMessageId: id,
      content: {
        body: null,
        envelopes: [],
        attachments: [
          { attachmentId, mimeType: 'image/png', sizeBytes: body.length, sha256: sha(body), fileName: null },
        ],
      },
    },
  });

/** Reserves and uploads `body` as `owner` the way the gateway and a client do. */
async function uploaded(store: ChatStore, owner: string, attachmentId: string, body: Buffer): Promise<void> {
  const sha256 = sha(body).toString('base64');
  await store.attachments.create({
    attachmentId,
    ownerUserId: owner,
    objectKey: `att/${attachmentId}`,
    sizeBytes: body.length,
    contentType: 'image/png',
    sha256,
    fileName: null,
    multipartUploadId: null,
    createdAtMs: Date.now(),
  });
  const put = new URL(
    (
      await objects.presignPut(`att/${attachmentId}`, {
        sizeBytes: body.length,
        contentType: 'image/png',
        sha256,
        expiresInSeconds: 60,
      })
    ).url,
  );
  const grant = objects.verify('PUT', `att/${attachmentId}`, put.searchParams);
  if (grant.op === 'put') await objects.writeBlob(grant, body);
}

test('in one batch, a send with a bad reference is refused alone; good ones are stored with their refs written', async () => {
  const store = createMemoryStore();
  const processor = await processorWith(store, objects);
  await processor.process(
    command('g1', 'alice', {
      'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: ['bob'], name: 'G', pictureAttachmentId: null },
    }),
  );
  const mine = Buffer.from('alice photo');
  await uploaded(store, 'alice', 'att-alice', mine);
  await uploaded(store, 'carol', 'att-carol', Buffer.from('carol photo'));
  const outcomes = await processor.processBatch([
    sendWith('g1', 'alice', 'm1', 'att-alice', mine),
    sendWith('g1', 'bob', 'm2', 'att-carol', Buffer.from('carol photo')),
    sendWith('g1', 'alice', 'm3', 'att-missing', mine),
  ]);
  assert.deepEqual(
    outcomes.map((o) => (o.accepted ? o.seq : o.code)),
    [2, 'CM_ERR_ATTACHMENT_NOT_OWNER', 'CM_ERR_ATTACHMENT_NOT_FOUND'],
  );
  assert.deepEqual(
    (await store.attachments.refs('att-alice')).map((r) => [r.chatId, r.refKey]),
    [['g1', 'msg:alice:m1']],
  );
  assert.deepEqual(await store.attachments.refs('att-carol'), []);
  // Bob now sees alice's photo in g1, so he may forward it to another chat of his.
  await processor.process(
    command('g2', 'bob', {
      'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: ['dave'], name: 'H', pictureAttachmentId: null },
    }),
  );
  const forward = await processor.process(sendWith('g2', 'bob', 'f1', 'att-alice', mine));
  assert.equal(forward.accepted, true);
  // A group picture goes through the same check.
  const picture = await processor.process(
    command('g2', 'bob', {
      'chatmesh.chat.UpdateChat': { name: null, pictureAttachmentId: 'att-carol', clearPicture: false },
    }),
  );
  assert.deepEqual(picture.accepted ? 'accepted' : picture.code, 'CM_ERR_ATTACHMENT_NOT_OWNER');
});

test('a processor without an attachment store refuses every reference', async () => {
  const store = createMemoryStore();
  const processor = await processorWith(store, null);
  await processor.process(
    command('g3', 'alice', {
      'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: ['bob'], name: 'G', pictureAttachmentId: null },
    }),
  );
  const body = Buffer.from('x');
  await uploaded(store, 'alice', 'att-x', body);
  const outcome = await processor.process(sendWith('g3', 'alice', 'm1', 'att-x', body));
  assert.deepEqual(outcome.accepted ? 'accepted' : outcome.code, 'CM_ERR_ATTACHMENT_NOT_FOUND');
  assert.equal((await store.chatLog.readAfter('g3', 1, 10)).length, 0);
});
