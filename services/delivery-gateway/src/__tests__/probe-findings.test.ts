import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, type Harness } from './harness.js';

// Findings of an outside probe of the public surface (issue 15, item 8), each pinned by a test.

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

test('a sync past the inbox head is clamped to it, and an ack then never moves the cursor past the head', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const a = await h.connect(alice, 'phone');
  const b = await h.connect(bob, 'laptop');
  await b.waitForFrame((f) => f.type === 'syncDone', 'bob syncDone');
  const chatId = directChatId(alice, bob);
  a.send({ type: 'createChat', requestId: 'r1', chatId, kind: 'direct', members: [bob] });
  a.send({ type: 'send', requestId: 'r2', chatId, clientMessageId: 'm1', body: 'hi' });
  await b.waitForFrame((f) => f.type === 'messageReceived', 'message at bob');

  b.send({ type: 'sync', fromInboxSeq: 1_000 });
  await waitFor(() => b.ofType('syncDone').length === 2, { description: 'second syncDone' });
  assert.equal(b.ofType('syncDone')[1]!['upToInboxSeq'], 2, 'syncDone names the head, not the asked position');
  b.send({ type: 'ack', upToInboxSeq: 1_000 });
  b.send({ type: 'ping', nonce: 'after-ack' });
  await b.waitForFrame((f) => f.type === 'pong' && f['nonce'] === 'after-ack', 'pong');
  assert.equal(await h.store.cursors.get(bob, 'laptop'), 2, 'the cursor stays at the head');

  // The next message is delivered, not skipped.
  a.send({ type: 'send', requestId: 'r3', chatId, clientMessageId: 'm2', body: 'again' });
  const next = await b.waitForFrame((f) => f.type === 'messageReceived' && f['clientMessageId'] === 'm2', 'm2');
  assert.equal(next['inboxSeq'], 3);
  await a.close();
  await b.close();
});

test('a send refused by the frame schema gets an error frame with its requestId', async () => {
  const c = await h.connect(randomName('u'), 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  const base = { type: 'send', chatId: 'c', clientMessageId: 'm' };
  c.send({ ...base, requestId: 'too-long', body: 'x'.repeat(65_537) });
  c.send({
    ...base,
    requestId: 'bad-envelope',
    envelopes: [{ userId: 'u', deviceId: 'd', ciphertext: '***not base64***', envelopeType: 1 }],
  });
  c.send({ ...base, requestId: 'has space', body: 'x' });
  await waitFor(() => c.ofType('error').length === 3, { description: 'three error frames' });
  const errors = c.ofType('error');
  assert.deepEqual(
    errors.map((f) => [f['code'], f['requestId']]),
    [
      ['CM_ERR_PROTOCOL_INVALID_FRAME', 'too-long'],
      ['CM_ERR_PROTOCOL_INVALID_FRAME', 'bad-envelope'],
      // An unreadable request id is not echoed.
      ['CM_ERR_PROTOCOL_INVALID_FRAME', undefined],
    ],
  );
  await c.close();
});

test('the body limit counts UTF-8 bytes, as ingest does', async () => {
  const c = await h.connect(randomName('u'), 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  // 30,000 three-byte characters: 30,000 UTF-16 units but 90,000 bytes, over the 65,536-byte limit.
  c.send({ type: 'send', requestId: 'wide', chatId: 'c', clientMessageId: 'm', body: '\u20ac'.repeat(30_000) });
  const error = await c.waitForFrame((f) => f.type === 'error', 'error frame');
  assert.equal(error['code'], 'CM_ERR_PROTOCOL_INVALID_FRAME');
  assert.equal(error['requestId'], 'wide');
  await c.close();
});

test('a read past the range of the record schema is refused at the frame schema with a protocol code', async () => {
  const c = await h.connect(randomName('u'), 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  c.send({ type: 'read', chatId: 'c', upToSeq: 2 ** 53 - 1 });
  c.send({ type: 'ack', upToInboxSeq: 2 ** 53 });
  await waitFor(() => c.ofType('error').length === 2, { description: 'two error frames' });
  assert.deepEqual(
    c.ofType('error').map((f) => f['code']),
    ['CM_ERR_PROTOCOL_INVALID_FRAME', 'CM_ERR_PROTOCOL_INVALID_FRAME'],
  );
  await c.close();
});

test('a text frame that is not valid UTF-8 drops the socket (uWebSockets.js, no 1007 possible) and is counted', async () => {
  const before = await h.metric('chatmesh_gateway_frame_errors_total', { code: 'CM_ERR_PROTOCOL_MALFORMED' });
  const c = await h.connect(randomName('u'), 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  // RFC 6455 asks for 1007; the library closes the TCP socket before the gateway sees the frame (documented).
  assert.equal((await c.closed).code, 1006);
  await waitFor(
    async () =>
      (await h.metric('chatmesh_gateway_frame_errors_total', { code: 'CM_ERR_PROTOCOL_MALFORMED' })) === before + 1,
    { description: 'the drop is counted' },
  );
});
