/**
 * Issue 7 in the SDK, against the fake gateway: message status from acks and receipts (own messages
 * only, forward only, per member and aggregate), readPointer events, the typing throttle, and the
 * settings / devices helpers over HTTP.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import {
  ClientError,
  createChatClient,
  MessageStatusTracker,
  type ChatClient,
  type ChatClientOptions,
  type MessageStatusEvent,
} from '../index.js';
import { fakeToken, startFakeGateway, type FakeConnection, type FakeGateway } from './helpers/fake-gateway.js';
import { waitFor } from './helpers/wait-for.js';

let gateway: FakeGateway;
const clients: ChatClient[] = [];
beforeEach(async () => {
  gateway = await startFakeGateway();
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await gateway.close();
});

function connect(userId: string, options: Partial<ChatClientOptions> = {}) {
  const client = createChatClient({
    url: gateway.url,
    deviceId: 'd1',
    tokenProvider: () => fakeToken(userId),
    webSocketFactory: (url) => new WebSocket(url),
    backoff: { initialDelayMs: 5, maxDelayMs: 40 },
    ...options,
  });
  clients.push(client);
  const statuses: MessageStatusEvent[] = [];
  client.on('status', (event) => statuses.push(event));
  return { client, statuses };
}

const connOf = (userId: string): FakeConnection => gateway.connections.find((c) => c.userId === userId)!;

function receipt(
  chatId: string,
  fromSeq: number,
  upToSeq: number,
  status: 'delivered' | 'read' | 'failed',
  byUserId: string | null,
  inboxSeq?: number,
) {
  return {
    type: 'receipt' as const,
    ...(inboxSeq === undefined ? {} : { inboxSeq }),
    chatId,
    fromSeq,
    upToSeq,
    status,
    byUserId,
    atMs: 1,
  };
}

describe('message status, readPointer, typing and the HTTP helpers', () => {
  test("ack → sent; receipts move only the user's own messages in the range, forward only", async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connect('alice');
    await alice.client.connected();
    const first = await alice.client.send('c1', { body: 'one' }, { clientMessageId: 'm1' });
    const bobSeq = gateway.post('c1', 'bob', 'from bob');
    const second = await alice.client.send('c1', { body: 'two' }, { clientMessageId: 'm2' });
    assert.deepEqual(
      alice.statuses.map((s) => [s.seq, s.status, s.clientMessageId]),
      [
        [first.seq, 'sent', 'm1'],
        [second.seq, 'sent', 'm2'],
      ],
      'one sent each: the echo of an acked message does not repeat it',
    );
    assert.equal(alice.client.messageStatus('c1', first.seq), 'sent');
    assert.equal(alice.client.messageStatus('c1', bobSeq), undefined, "bob's message is not tracked");

    const conn = connOf('alice');
    gateway.sendRaw(conn, receipt('c1', 1, first.seq, 'delivered', null));
    await waitFor(() => alice.client.messageStatus('c1', first.seq) === 'delivered', 'm1 delivered');
    assert.equal(alice.client.messageStatus('c1', second.seq), 'sent', 'outside the range');
    gateway.sendRaw(conn, receipt('c1', 1, second.seq, 'read', null));
    await waitFor(() => alice.client.messageStatus('c1', second.seq) === 'read', 'm2 read');
    // Backwards: a late DELIVERED and a FAILED change nothing.
    gateway.sendRaw(conn, receipt('c1', 1, second.seq, 'delivered', null));
    gateway.sendRaw(conn, receipt('c1', second.seq, second.seq, 'failed', 'bob'));
    // A frame after them: once its event is out, the two before were handled (frames go in order).
    let marker = false;
    alice.client.on('typing', () => (marker = true));
    gateway.sendRaw(conn, { type: 'typing', chatId: 'c1', userId: 'bob', typing: true, expiresAtMs: 1 });
    await waitFor(() => marker, 'the marker frame');
    assert.deepEqual(
      alice.statuses.slice(2).map((s) => [s.seq, s.status, s.byUserId]),
      [
        [first.seq, 'delivered', null],
        [first.seq, 'read', null],
        [second.seq, 'read', null],
      ],
    );
    assert.equal(alice.client.messageStatus('c1', second.seq), 'read');
  });

  test('groups: per-member receipts, then the aggregate; failed per recipient; a receipt before the ack still applies', async () => {
    const tracker = new MessageStatusTracker();
    assert.equal(tracker.sent('g', 5, 'x').length, 1);
    assert.deepEqual(
      tracker.receipt(receipt('g', 1, 5, 'delivered', 'bob')).map((e) => [e.status, e.byUserId]),
      [['delivered', 'bob']],
    );
    assert.equal(tracker.status('g', 5), 'sent', 'one member is not everyone');
    assert.equal(tracker.status('g', 5, 'bob'), 'delivered');
    assert.equal(tracker.status('g', 5, 'carol'), 'sent');
    assert.deepEqual(
      tracker.receipt(receipt('g', 1, 5, 'delivered', null)).map((e) => [e.status, e.byUserId]),
      [['delivered', null]],
    );
    assert.equal(tracker.status('g', 5), 'delivered');

    // FAILED for one recipient of a message nobody else got either.
    tracker.sent('g', 6, 'y');
    tracker.receipt(receipt('g', 6, 6, 'failed', 'carol'));
    assert.deepEqual([tracker.status('g', 6), tracker.status('g', 6, 'carol')], ['failed', 'failed']);
    assert.equal(tracker.receipt(receipt('g', 6, 6, 'failed', 'carol')).length, 0, 'once');

    // The aggregate READ arrives before the ack of message 9 (a race): the ack applies it.
    tracker.receipt(receipt('h', 1, 9, 'read', null));
    assert.deepEqual(
      tracker.sent('h', 9, 'z').map((e) => e.status),
      ['sent', 'read'],
    );
    assert.deepEqual(
      tracker.sent('h', 10, 'w').map((e) => e.status),
      ['sent'],
    );
  });

  test('receipts and readPointers from the inbox are handled once and acked', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connect('alice', { ackDebounceMs: 5 });
    await alice.client.connected();
    const ack = await alice.client.send('c1', { body: 'hi' }, { clientMessageId: 'm1' });
    const pointers: Array<{ chatId: string; upToSeq: number; byDeviceId: string }> = [];
    alice.client.on('readPointer', (f) => pointers.push(f));
    const inbox = gateway.inboxOf('alice');
    const conn = connOf('alice');
    const next = inbox.length + 1;
    gateway.sendRaw(conn, receipt('c1', 1, ack.seq, 'read', null, next));
    gateway.sendRaw(conn, { type: 'readPointer', inboxSeq: next + 1, chatId: 'c1', upToSeq: 7, byDeviceId: 'tablet' });
    // Replayed again (a reconnect race): ignored.
    gateway.sendRaw(conn, { type: 'readPointer', inboxSeq: next + 1, chatId: 'c1', upToSeq: 7, byDeviceId: 'tablet' });
    await waitFor(() => gateway.cursorOf('alice', 'd1') === next + 1, 'acked past both');
    assert.deepEqual(pointers, [
      { type: 'readPointer', inboxSeq: next + 1, chatId: 'c1', upToSeq: 7, byDeviceId: 'tablet' },
    ]);
    assert.equal(alice.client.messageStatus('c1', ack.seq), 'read');
  });

  test('setTyping: one typing:true per refresh interval while typing, one typing:false on stop', async () => {
    let now = 1_000;
    const alice = connect('alice', { now: () => now, typingRefreshMs: 3_000 });
    await alice.client.connected();
    const typing = () =>
      connOf('alice')
        .frames.filter((f) => f.type === 'typing')
        .map((f) => (f.type === 'typing' ? `${f.chatId}:${f.typing}` : ''));
    alice.client.setTyping('c1', false);
    for (let i = 0; i < 10; i++) {
      alice.client.setTyping('c1', true);
      now += 250;
    }
    alice.client.setTyping('c2', true);
    now += 1_000;
    alice.client.setTyping('c1', true);
    alice.client.setTyping('c1', false);
    alice.client.setTyping('c1', false);
    alice.client.setTyping('c1', true);
    alice.client.markRead('c1', 1);
    await waitFor(() => connOf('alice').frames.some((f) => f.type === 'read'), 'frames arrived');
    assert.deepEqual(typing(), ['c1:true', 'c2:true', 'c1:true', 'c1:false', 'c1:true']);
  });

  test('settings and devices helpers call the HTTP API with the token and surface coded errors', async () => {
    gateway.http.devices.set('alice', [
      { deviceId: 'd1', registeredAtMs: 1, online: true },
      { deviceId: 'old', registeredAtMs: 2, online: false },
    ]);
    const alice = connect('alice', { autoConnect: false });
    assert.deepEqual(await alice.client.getSettings(), { readReceipts: true, presenceVisible: true });
    assert.match((await alice.client.updateSettings({ readReceipts: false })).requestId, /^http:/);
    assert.deepEqual(await alice.client.getSettings(), { readReceipts: false, presenceVisible: true });
    assert.deepEqual(await alice.client.listDevices(), [
      { deviceId: 'd1', registeredAtMs: 1, online: true, current: true },
      { deviceId: 'old', registeredAtMs: 2, online: false, current: false },
    ]);
    await alice.client.removeDevice('old');
    assert.deepEqual(
      (await alice.client.listDevices()).map((d) => d.deviceId),
      ['d1'],
    );
    await assert.rejects(alice.client.removeDevice('nope'), (error: unknown) => {
      assert.ok(error instanceof ClientError);
      assert.equal(error.code, 'CM_ERR_CLIENT_HTTP_FAILED');
      assert.equal(error.serverCode, 'CM_ERR_DEVICE_UNKNOWN');
      return true;
    });
    assert.ok(
      gateway.http.requests.every((r) => r.userId === 'alice'),
      'every call carried the token',
    );
    assert.deepEqual(gateway.http.requests[1], {
      method: 'PUT',
      path: '/v1/settings',
      userId: 'alice',
      body: { readReceipts: false },
    });
  });

  test('push channel helpers register, unregister and list wake-ups over the HTTP API', async () => {
    const alice = connect('alice', { autoConnect: false });
    const subscription = { endpoint: 'https://push.example/1', keys: { p256dh: 'p', auth: 'a' } };
    assert.match((await alice.client.registerPushChannel({ provider: 'web_push', subscription })).requestId, /^http:/);
    await alice.client.unregisterPushChannel();
    assert.deepEqual(await alice.client.listPushWakeUps(5), [
      { deviceId: 'd1', chatId: 'c-1', badge: 2, atMs: 1, requestId: 'r1' },
    ]);
    assert.deepEqual(
      gateway.http.requests.map((r) => [r.method, r.path, r.body]),
      [
        ['PUT', '/v1/push/channel', { provider: 'web_push', subscription }],
        ['DELETE', '/v1/push/channel', null],
        ['GET', '/v1/push/inbox', null],
      ],
    );
  });
});
