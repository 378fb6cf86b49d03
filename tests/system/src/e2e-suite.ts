import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { createChatClient, type ChatClient, type ChatClientEvents } from '@chatmesh/client';
import {
  createFileE2EStorage,
  createMemoryE2EStorage,
  decryptAttachment,
  E2EDevice,
  encryptAttachment,
  type E2EContent,
} from '@chatmesh/client/e2e';
import { waitFor } from '@chatmesh/testing';
import { PrivateKey } from '@signalapp/libsignal-client';
import WebSocket from 'ws';

import type { ExperienceSystem } from './experience-system.js';

/** The environment of the E2E suite's services: encrypted attachments are opaque bytes. */
export const E2E_TEST_ENV: Readonly<Record<string, string>> = Object.freeze({
  CHATMESH_ATTACHMENT_ALLOWED_TYPES: 'application/octet-stream',
  CHATMESH_GATEWAY_USER_RATE_PER_SECOND: '1000',
  CHATMESH_GATEWAY_USER_BURST: '1000',
});

/** Options of {@link defineE2ESuite}. */
export interface E2ESuiteOptions {
  readonly name: string;
  readonly createSystem: () => Promise<ExperienceSystem>;
  /**
   * Looks for each needle in everything the servers keep (every Kafka topic of the namespace, every Cassandra
   * table of the keyspace, every object of the attachment store); returns where each one was found.
   */
  readonly scan?: (system: ExperienceSystem, needles: readonly Needle[]) => Promise<Finding[]>;
}

/** Bytes to look for. */
export interface Needle {
  readonly name: string;
  readonly bytes: Buffer;
}

/** A needle found: `where` starts with `kafka`, `cassandra` or `object store`. */
export interface Finding {
  readonly needle: string;
  readonly where: string;
}

/** One SDK device: a chat client and its E2E state. */
interface Device {
  readonly userId: string;
  readonly deviceId: string;
  readonly client: ChatClient;
  readonly e2e: E2EDevice;
  readonly received: Array<ChatClientEvents['messageReceived']>;
  readonly rejects: Array<ChatClientEvents['reject']>;
}

/**
 * Issue 18's proof: two users with two SDK devices each talk end-to-end encrypted (libsignal, PQXDH) through
 * chatmesh in a direct chat and a group and share an encrypted attachment; the servers see only ciphertext.
 */
export function defineE2ESuite(options: E2ESuiteOptions): void {
  describe(options.name, { concurrency: false }, () => {
    let system: ExperienceSystem;
    const dirs: string[] = [];
    const devices: Device[] = [];
    const a = `alice-${randomUUID().slice(0, 8)}`;
    const b = `bob-${randomUUID().slice(0, 8)}`;
    const secrets = {
      direct: `direct secret ${randomUUID()}`,
      reply: `reply secret ${randomUUID()}`,
      group: `group secret ${randomUUID()}`,
      caption: `caption secret ${randomUUID()}`,
      afterRemoval: `after removal ${randomUUID()}`,
    };
    const picture = Buffer.concat([Buffer.from(`attachment secret ${randomUUID()} `), randomBytes(4096)]);
    let attachmentKey: Buffer | null = null;
    let attachmentCiphertext: Buffer | null = null;
    // Group names are metadata the server keeps in the clear: the scan's proof that it can find things.
    const groupName = `e2e group ${randomUUID()}`;

    const gatewayOf = (index: number): string => system.gatewayUrls[index % system.gatewayUrls.length]!;
    const http = async (userId: string, deviceId: string, method: string, path: string, body?: unknown) => {
      const response = await fetch(`${gatewayOf(0)}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await system.token(userId, deviceId)}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };

    async function openDevice(userId: string, deviceId: string, index: number, onDisk: boolean): Promise<Device> {
      const url = gatewayOf(index);
      const client = createChatClient({
        url,
        deviceId,
        tokenProvider: () => system.token(userId, deviceId),
        webSocketFactory: (wsUrl) => {
          const socket = new WebSocket(wsUrl);
          socket.on('error', () => undefined);
          return socket;
        },
        fetch,
      });
      const dir = onDisk ? mkdtempSync(join(tmpdir(), 'chatmesh-e2e-')) : null;
      if (dir !== null) dirs.push(dir);
      const e2e = await E2EDevice.open({
        userId,
        deviceId,
        storage: dir === null ? createMemoryE2EStorage() : createFileE2EStorage(dir),
        http: { baseUrl: url, token: () => system.token(userId, deviceId) },
      });
      const device: Device = { userId, deviceId, client, e2e, received: [], rejects: [] };
      client.on('messageReceived', (frame) => device.received.push(frame));
      client.on('reject', (frame) => device.rejects.push(frame));
      client.on('error', () => undefined);
      client.connect();
      await client.connected();
      return device;
    }

    const device = (userId: string, deviceId: string): Device =>
      devices.find((d) => d.userId === userId && d.deviceId === deviceId)!;

    /** Waits for the message at the device and decrypts the envelope addressed to it. */
    async function decrypted(at: Device, chatId: string, clientMessageId: string): Promise<E2EContent> {
      const frame = await waitFor(
        () => at.received.find((f) => f.chatId === chatId && f.clientMessageId === clientMessageId),
        { description: `${at.userId}/${at.deviceId} receives ${clientMessageId}`, timeoutMs: 60_000 },
      );
      assert.equal(frame.body, null, 'no plaintext body travels');
      assert.equal(frame.envelopes.length, 1, 'each device gets only its own envelope');
      const [envelope] = frame.envelopes;
      assert.deepEqual([envelope!.userId, envelope!.deviceId], [at.userId, at.deviceId]);
      return at.e2e.decrypt(frame.by, envelope!);
    }

    before(async () => {
      system = await options.createSystem();
      let index = 0;
      for (const [userId, deviceId] of [
        [a, 'phone'],
        [a, 'laptop'],
        [b, 'phone'],
        [b, 'laptop'],
      ] as const) {
        devices.push(await openDevice(userId, deviceId, index, index === 3));
        index++;
      }
      // Presence registers each device on connect: the key directory hands out bundles of listed devices only.
      for (const d of devices) {
        await waitFor(async () => (await system.store.devices.list(d.userId)).some((r) => r.deviceId === d.deviceId), {
          description: `${d.userId}/${d.deviceId} registered`,
          timeoutMs: 60_000,
        });
      }
    });

    after(async () => {
      for (const d of devices) await d.client.close().catch(() => undefined);
      await system?.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    test('keys made by libsignal are accepted (the server verifies XEdDSA itself); a forged signature is refused', async () => {
      for (const d of devices) {
        const status = await d.e2e.uploadKeys({ preKeys: 5, kyberPreKeys: 5 });
        assert.deepEqual(status, { registered: true, preKeys: 5, kyberPreKeys: 5, refillBelow: 10, refill: true });
      }
      assert.equal(await devices[0]!.e2e.refillIfLow(10), true, 'below 10: the device refills');
      const counts = await http(a, 'phone', 'GET', '/v1/keys');
      assert.deepEqual([counts.json['preKeys'], counts.json['refill']], [15, false]);

      const identity = PrivateKey.generate();
      const signed = PrivateKey.generate().getPublicKey().serialize();
      const signature = Buffer.from(identity.sign(signed));
      signature[5]! ^= 1;
      const b64 = (x: Uint8Array) => Buffer.from(x).toString('base64');
      const forged = await http(`mallory-${randomUUID().slice(0, 8)}`, 'pc', 'PUT', '/v1/keys', {
        identityKey: b64(identity.getPublicKey().serialize()),
        registrationId: 7,
        signedPreKey: { keyId: 1, publicKey: b64(signed), signature: b64(signature) },
        kyberLastResortPreKey: { keyId: 2, publicKey: b64(Buffer.alloc(1569, 8)), signature: b64(Buffer.alloc(64)) },
      });
      assert.deepEqual([forged.status, forged.json['code']], [400, 'CM_ERR_E2E_BAD_SIGNATURE']);
    });

    test('1:1: every other device of both users decrypts; a reply repairs its device list and keeps its id', async () => {
      const alicePhone = device(a, 'phone');
      const { chatId } = await alicePhone.client.createDirectChat(b);
      const sent = await alicePhone.e2e.sendEncrypted(alicePhone.client, chatId, [b], { body: secrets.direct });
      for (const at of [device(a, 'laptop'), device(b, 'phone'), device(b, 'laptop')]) {
        assert.equal((await decrypted(at, chatId, sent.clientMessageId!)).body, secrets.direct);
      }
      // Bob's laptop learnt only Alice's phone from its message: its reply misses her laptop, is refused with the
      // device list, fetches that bundle and goes through under the same clientMessageId.
      const bobLaptop = device(b, 'laptop');
      const replyId = `reply-${randomUUID()}`;
      const reply = await bobLaptop.e2e.sendEncrypted(
        bobLaptop.client,
        chatId,
        [a],
        { body: secrets.reply },
        {
          clientMessageId: replyId,
        },
      );
      assert.equal(reply.clientMessageId, replyId);
      const refusal = bobLaptop.rejects.find((r) => r.clientMessageId === replyId);
      assert.equal(refusal?.code, 'CM_ERR_E2E_DEVICE_LIST_MISMATCH');
      assert.deepEqual(refusal?.missingDevices, [{ userId: a, deviceIds: ['laptop'] }]);
      for (const at of [device(a, 'phone'), device(a, 'laptop'), device(b, 'phone')]) {
        assert.equal((await decrypted(at, chatId, replyId)).body, secrets.reply);
      }
    });

    test('a group message and an encrypted attachment: members decrypt both; the blob store holds ciphertext', async () => {
      const alicePhone = device(a, 'phone');
      const group = await alicePhone.client.createGroup(groupName, [b]);
      const sent = await alicePhone.e2e.sendEncrypted(alicePhone.client, group.chatId, [b], { body: secrets.group });
      for (const at of [device(a, 'laptop'), device(b, 'phone'), device(b, 'laptop')]) {
        assert.equal((await decrypted(at, group.chatId, sent.clientMessageId!)).body, secrets.group);
      }

      const encrypted = encryptAttachment(picture);
      attachmentKey = encrypted.key;
      attachmentCiphertext = encrypted.ciphertext;
      const sha256 = createHash('sha256').update(encrypted.ciphertext).digest('base64');
      const granted = await http(a, 'phone', 'POST', '/v1/attachments', {
        sizeBytes: encrypted.ciphertext.length,
        contentType: 'application/octet-stream',
        sha256,
      });
      assert.equal(granted.status, 201, JSON.stringify(granted.json));
      const put = granted.json['upload'] as { method: string; url: string; headers: Record<string, string> };
      const stored = await fetch(put.url, { method: put.method, headers: put.headers, body: encrypted.ciphertext });
      assert.equal(stored.status, 200, await stored.text());
      const attachmentId = granted.json['attachmentId'] as string;
      const withPicture = await alicePhone.e2e.sendEncrypted(
        alicePhone.client,
        group.chatId,
        [b],
        {
          body: secrets.caption,
          attachments: [
            {
              attachmentId,
              key: encrypted.key.toString('base64'),
              digest: encrypted.digest.toString('base64'),
              sizeBytes: picture.length,
              contentType: 'image/png',
            },
          ],
        },
        {
          attachments: [
            { attachmentId, mimeType: 'application/octet-stream', sizeBytes: encrypted.ciphertext.length, sha256 },
          ],
        },
      );
      const content = await decrypted(device(b, 'laptop'), group.chatId, withPicture.clientMessageId!);
      assert.equal(content.body, secrets.caption);
      const ref = content.attachments![0]!;
      const download = await http(b, 'laptop', 'GET', `/v1/attachments/${ref.attachmentId}`);
      assert.equal(download.status, 200, JSON.stringify(download.json));
      const blob = Buffer.from(await (await fetch((download.json['download'] as { url: string }).url)).arrayBuffer());
      assert.deepEqual(blob, encrypted.ciphertext, 'the store holds exactly the ciphertext');
      assert.deepEqual(
        decryptAttachment(blob, Buffer.from(ref.key, 'base64'), Buffer.from(ref.digest, 'base64')),
        picture,
      );
    });

    test('concurrent bundle fetches never share a one-time prekey', async () => {
      const carol = `carol-${randomUUID().slice(0, 8)}`;
      const carolPhone = await openDevice(carol, 'phone', 0, false);
      devices.push(carolPhone);
      await waitFor(async () => (await system.store.devices.list(carol)).length === 1, {
        description: 'carol registered',
        timeoutMs: 60_000,
      });
      await carolPhone.e2e.uploadKeys({ preKeys: 6, kyberPreKeys: 6 });
      await carolPhone.client.createGroup('fetchers', [a, b]);
      const fetchers = [device(a, 'phone'), device(a, 'laptop'), device(b, 'phone'), device(b, 'laptop')];
      const answers = await Promise.all(
        fetchers.flatMap((f) => [0, 1].map(() => http(f.userId, f.deviceId, 'GET', `/v1/keys/${carol}`))),
      );
      const preKeys = answers.map((answer) => {
        assert.equal(answer.status, 200, JSON.stringify(answer.json));
        return (answer.json['devices'] as Array<{ preKey: { keyId: number } | null }>)[0]!.preKey?.keyId ?? null;
      });
      const handedOut = preKeys.filter((id): id is number => id !== null);
      assert.equal(handedOut.length, 6, `six keys for eight fetches: ${JSON.stringify(preKeys)}`);
      assert.equal(new Set(handedOut).size, 6, 'no key twice');
    });

    test('a removed device is stale: the send is refused, the session dropped, the retry with the same id succeeds', async () => {
      const removed = await http(b, 'phone', 'DELETE', '/v1/devices/laptop');
      assert.equal(removed.status, 202);
      await waitFor(
        async () => (await system.store.devices.list(b)).find((d) => d.deviceId === 'laptop')?.removedAtMs != null,
        { description: "bob's laptop removed", timeoutMs: 60_000 },
      );
      const alicePhone = device(a, 'phone');
      const chatId = (await alicePhone.client.createDirectChat(b)).chatId;
      const id = `after-removal-${randomUUID()}`;
      const ack = await alicePhone.e2e.sendEncrypted(
        alicePhone.client,
        chatId,
        [b],
        { body: secrets.afterRemoval },
        {
          clientMessageId: id,
        },
      );
      assert.equal(ack.clientMessageId, id);
      const refusal = alicePhone.rejects.find((r) => r.clientMessageId === id);
      assert.deepEqual(refusal?.staleDevices, [{ userId: b, deviceIds: ['laptop'] }]);
      assert.equal((await decrypted(device(b, 'phone'), chatId, id)).body, secrets.afterRemoval);
      assert.deepEqual(await alicePhone.e2e.knownDevices(b), ['phone']);
    });

    if (options.scan !== undefined) {
      const scan = options.scan;
      test('no plaintext and no attachment key anywhere: Kafka topics, Cassandra tables, object store', async () => {
        assert.ok(attachmentKey !== null && attachmentCiphertext !== null, 'the attachment test ran');
        const needles: Needle[] = [];
        for (const [name, text] of Object.entries(secrets)) {
          needles.push({ name, bytes: Buffer.from(text) });
          needles.push({ name: `${name} (base64)`, bytes: Buffer.from(Buffer.from(text).toString('base64')) });
        }
        needles.push({ name: 'attachment plaintext', bytes: picture.subarray(0, 64) });
        needles.push({ name: 'attachment key', bytes: attachmentKey });
        needles.push({ name: 'attachment AES key', bytes: attachmentKey.subarray(0, 32) });
        needles.push({ name: 'attachment key (base64)', bytes: Buffer.from(attachmentKey.toString('base64')) });
        needles.push({ name: 'attachment key (hex)', bytes: Buffer.from(attachmentKey.toString('hex')) });
        // Controls: what the server does keep must be found, or an empty answer proves nothing.
        const controls: Needle[] = [
          { name: 'control: group name', bytes: Buffer.from(groupName) },
          { name: 'control: attachment ciphertext', bytes: attachmentCiphertext.subarray(0, 64) },
        ];
        const found = await scan(system, [...needles, ...controls]);
        const where = (name: string) => found.filter((f) => f.needle === name).map((f) => f.where.split(' ')[0]);
        assert.ok(where('control: group name').includes('kafka'), JSON.stringify(found));
        assert.ok(where('control: group name').includes('cassandra'), JSON.stringify(found));
        assert.ok(where('control: attachment ciphertext').includes('object'), JSON.stringify(found));
        assert.deepEqual(
          found.filter((f) => !f.needle.startsWith('control:')),
          [],
          'no plaintext and no attachment key on the servers',
        );
      });
    }
  });
}
