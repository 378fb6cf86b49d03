/**
 * Issue 7 at the gateway: DELIVERED reports from acks, local refusals as error frames, readPointer
 * frames, the typing limit, the device list at the door, SessionControl closes, and the devices /
 * settings HTTP API.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BusRecord } from '@chatmesh/bus';
import { directChatId } from '@chatmesh/protocol';
import { createTypedProducer } from '@chatmesh/runtime';
import {
  gatewayDeliveriesTopic,
  TOPICS,
  valueSubjectOf,
  type GatewayDelivery,
  type InboxEntry,
  type PresenceEvent,
  type ReceiptReport,
} from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, tryUpgrade, type Harness, type TestClient } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({
    env: {
      CHATMESH_MAX_DEVICES_PER_USER: '2',
      CHATMESH_GATEWAY_TYPING_BURST: '3',
      CHATMESH_GATEWAY_TYPING_PER_MINUTE: '1',
      CHATMESH_GATEWAY_MAX_VIOLATIONS_PER_MINUTE: '3',
    },
  });
});
after(() => h?.close());

/** Decoded values as plain data (Avro unions decode to class instances). */
async function decodeAll<T>(records: readonly BusRecord[]): Promise<T[]> {
  return Promise.all(
    records.map(async (r) => JSON.parse(JSON.stringify((await h.codec.decode<T>(r.value!)).value)) as T),
  );
}

/** Waits until every frame sent before has been handled (frames of one socket are handled in order). */
async function roundTrip(client: TestClient, nonce: string): Promise<void> {
  client.send({ type: 'ping', nonce });
  await client.waitForFrame((f) => f.type === 'pong' && f['nonce'] === nonce, `pong ${nonce}`);
}

async function command(client: TestClient, frame: Record<string, unknown>): Promise<number> {
  client.send(frame);
  const ack = await client.waitForFrame((f) => f.type === 'ack' && f['requestId'] === frame['requestId'], 'ack');
  return ack['seq'] as number;
}

const deliveries = () => createTypedProducer(h.bus, h.codec);

test('an ack becomes one DELIVERED report per chat with the highest seq it covers, never for own messages, replay included', async () => {
  const receipts = await h.collect(TOPICS.receipts.name);
  const alice = randomName('alice');
  const bob = randomName('bob');
  const a = await h.connect(alice, 'phone');
  const b = await h.connect(bob, 'laptop');
  await b.waitForFrame((f) => f.type === 'syncDone', 'bob syncDone');
  const direct = directChatId(alice, bob);
  const group = randomName('g').replace(/[^A-Za-z0-9_-]/g, '-');
  await command(a, { type: 'createChat', requestId: 'c1', chatId: direct, kind: 'direct', members: [bob] });
  await command(a, { type: 'send', requestId: 'm1', chatId: direct, clientMessageId: 'm1', body: 'one' });
  const m2 = await command(a, { type: 'send', requestId: 'm2', chatId: direct, clientMessageId: 'm2', body: 'two' });
  await command(b, { type: 'send', requestId: 'b1', chatId: direct, clientMessageId: 'b1', body: 'mine' });
  await command(a, { type: 'createChat', requestId: 'c2', chatId: group, kind: 'group', members: [bob], name: 'G' });
  const g1 = await command(a, { type: 'send', requestId: 'g1', chatId: group, clientMessageId: 'g1', body: 'grp' });
  await b.waitForFrame((f) => f.type === 'messageReceived' && f['clientMessageId'] === 'g1', 'bob got g1');
  const seqOf = (id: string) =>
    b.frames.find((f) => f.type === 'messageReceived' && f['clientMessageId'] === id)!['inboxSeq'] as number;

  // Nothing is reported before an ack.
  await roundTrip(b, 'before-ack');
  assert.equal(receipts.length, 0, 'no report before the ack');

  // Up to bob's own message: the direct chat up to m2 (his own b1, sent after, does not count).
  b.send({ type: 'ack', upToInboxSeq: seqOf('b1') });
  await roundTrip(b, 'ack-1');
  await waitFor(() => receipts.length === 1, { description: 'one DELIVERED report' });
  const [first] = await decodeAll<ReceiptReport>(receipts);
  assert.deepEqual(
    [first!.chatId, first!.userId, first!.deviceId, first!.kind, first!.upToSeq, first!.gatewayId],
    [direct, bob, 'laptop', 'DELIVERED', m2, h.gatewayId],
  );
  assert.match(first!.requestId, /^local:[0-9a-f-]+:\d+$/);
  assert.equal(receipts[0]!.key, direct);

  // The rest: the group only.
  b.send({ type: 'ack', upToInboxSeq: seqOf('g1') });
  await waitFor(() => receipts.length === 2, { description: 'the group report' });
  const second = (await decodeAll<ReceiptReport>(receipts))[1]!;
  assert.deepEqual([second.chatId, second.upToSeq, second.kind], [group, g1, 'DELIVERED']);
  assert.notEqual(second.requestId, first!.requestId);
  // An ack that covers nothing new reports nothing.
  b.send({ type: 'ack', upToInboxSeq: seqOf('g1') });
  await roundTrip(b, 'ack-again');
  assert.equal(receipts.length, 2);

  // Alice acks everything she got: every message in her inbox is by bob only once (b1).
  const lastA = Math.max(...a.inboxSeqs());
  a.send({ type: 'ack', upToInboxSeq: lastA });
  await waitFor(() => receipts.length === 3, { description: "alice's report" });
  const third = (await decodeAll<ReceiptReport>(receipts))[2]!;
  assert.deepEqual([third.userId, third.chatId, third.upToSeq], [alice, direct, m2 + 1]);
  await roundTrip(a, 'alice-ack');
  assert.equal(receipts.length, 3, 'her own messages are not reported');

  // A new device replays bob's inbox: its ack covers both chats.
  const b2 = await h.connect(bob, 'tablet');
  await b2.waitForFrame((f) => f.type === 'syncDone', 'tablet syncDone');
  b2.send({ type: 'ack', upToInboxSeq: Math.max(...b2.inboxSeqs()) });
  await waitFor(() => receipts.length === 5, { description: 'two reports from the replayed entries' });
  const replayed = (await decodeAll<ReceiptReport>(receipts)).slice(3);
  assert.deepEqual(
    replayed.map((r) => [r.deviceId, r.chatId, r.upToSeq]).sort(),
    [
      ['tablet', direct, m2],
      ['tablet', group, g1],
    ].sort(),
  );
  assert.equal(await h.metric('chatmesh_gateway_receipt_reports_total', { kind: 'DELIVERED' }), 5);
  await Promise.all([a.close(), b.close(), b2.close()]);
});

test('a refusal with a local: request id becomes an error frame; other refusals stay reject frames', async () => {
  const user = randomName('u');
  const c = await h.connect(user, 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  const result = (requestId: string): GatewayDelivery => ({
    gatewayId: h.gatewayId,
    userId: user,
    deviceId: 'd',
    createdAtMs: Date.now(),
    payload: {
      'chatmesh.gateway.CommandResult': {
        requestId,
        chatId: 'chat-x',
        clientMessageId: null,
        accepted: false,
        seq: null,
        serverTimeMs: null,
        reason: { code: 'CM_ERR_RECEIPTS_NOT_A_MEMBER', message: 'not a member', retriable: false },
      },
    },
  });
  const topic = gatewayDeliveriesTopic(h.gatewayId).name;
  await deliveries().send(topic, user, result('local:conn:1'));
  const error = await c.waitForFrame((f) => f.type === 'error', 'error frame');
  assert.deepEqual(error, {
    type: 'error',
    code: 'CM_ERR_RECEIPTS_NOT_A_MEMBER',
    message: 'not a member',
    retriable: false,
  });
  await deliveries().send(topic, user, result('client-request'));
  const reject = await c.waitForFrame((f) => f.type === 'reject', 'reject frame');
  assert.equal(reject['requestId'], 'client-request');
  assert.equal(c.ofType('error').length, 1);
  await c.close();
});

test('read pointers of the inbox are readPointer frames, on replay and live, and are acked like other entries', async () => {
  const user = randomName('reader');
  const subject = valueSubjectOf(TOPICS.userInbox.name);
  const pointer = (seq: number, upToSeq: number): InboxEntry => ({
    userId: user,
    inboxSeq: seq,
    dedupeKey: `rp:chat-r:${upToSeq}`,
    chatId: 'chat-r',
    createdAtMs: Date.now(),
    item: { 'chatmesh.inbox.ReadPointerUpdate': { upToSeq, byDeviceId: 'phone' } },
  });
  const store = async (entry: InboxEntry) =>
    h.store.inboxLog.insertIfAbsent({
      streamId: user,
      seq: entry.inboxSeq!,
      idempotencyKey: entry.dedupeKey,
      kind: 'read_pointer',
      payload: await h.codec.encode(subject, entry),
      createdAtMs: Date.now(),
    });
  await store(pointer(1, 4));
  const c = await h.connect(user, 'laptop');
  const replayed = await c.waitForFrame((f) => f.type === 'readPointer', 'replayed readPointer');
  assert.deepEqual(replayed, { type: 'readPointer', inboxSeq: 1, chatId: 'chat-r', upToSeq: 4, byDeviceId: 'phone' });
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');

  const live = pointer(2, 9);
  await store(live);
  await deliveries().send(gatewayDeliveriesTopic(h.gatewayId).name, user, {
    gatewayId: h.gatewayId,
    userId: user,
    deviceId: null,
    createdAtMs: Date.now(),
    payload: { 'chatmesh.gateway.InboxDelivery': { entry: live, content: null } },
  });
  const liveFrame = await c.waitForFrame((f) => f.type === 'readPointer' && f['inboxSeq'] === 2, 'live readPointer');
  assert.equal(liveFrame['upToSeq'], 9);
  c.send({ type: 'ack', upToInboxSeq: 2 });
  await waitFor(async () => (await h.store.cursors.get(user, 'laptop')) === 2, { description: 'cursor at 2' });
  await c.close();
});

test('typing frames past the connection bucket get CM_ERR_PROTOCOL_RATE_LIMITED and produce nothing; a flood closes 4009', async () => {
  const ephemeral = await h.collect(TOPICS.ephemeral.name);
  const user = randomName('typist');
  const c = await h.connect(user, 'd');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
  for (let i = 0; i < 5; i++) c.send({ type: 'typing', chatId: 'chat-t', typing: i % 2 === 0 });
  await roundTrip(c, 'typed');
  assert.equal(ephemeral.length, 3, 'the burst of 3 went through');
  const limited = c.ofType('error');
  assert.equal(limited.length, 2);
  assert.ok(limited.every((f) => f['code'] === 'CM_ERR_PROTOCOL_RATE_LIMITED'));
  // Other frames are not affected by the typing bucket.
  c.send({ type: 'read', chatId: 'chat-t', upToSeq: 1 });
  await roundTrip(c, 'read');
  assert.equal(c.ofType('error').length, 2);
  assert.equal(c.closeEvent, null, 'a refused burst is not a policy violation');
  assert.ok((await h.metric('chatmesh_gateway_receipt_reports_total', { kind: 'READ' })) >= 1, 'the read counted');
  // A flood: every 10th refusal is a violation, and past 3 of them the socket is closed.
  for (let i = 0; i < 45; i++) c.send({ type: 'typing', chatId: 'chat-t', typing: true });
  assert.equal((await c.closed).code, 4009);
  assert.equal(ephemeral.length, 3, 'nothing more was produced');
});

test('the upgrade refuses a removed device and a new device past the limit with 403 and the code', async () => {
  const user = randomName('multi');
  const now = Date.now();
  await h.store.devices.register(user, 'phone', now);
  await h.store.devices.register(user, 'laptop', now + 1);
  await h.store.devices.register(user, 'old', now - 10);
  await h.store.devices.remove(user, 'old', now);
  const headers = async (device: string) => ({ authorization: `Bearer ${await h.token(user, device)}` });
  assert.deepEqual(await tryUpgrade(h.wsUrl, await headers('old')), {
    status: 403,
    body: {
      code: 'CM_ERR_DEVICE_REMOVED',
      message: 'this device was removed from the account; sign in again as a new device',
    },
  });
  const limited = await tryUpgrade(h.wsUrl, await headers('tablet'));
  assert.ok(limited !== 'opened');
  assert.deepEqual([limited.status, limited.body.code], [403, 'CM_ERR_DEVICE_LIMIT']);
  // Listed devices still connect, and so does a new one once there is room.
  assert.equal(await tryUpgrade(h.wsUrl, await headers('phone')), 'opened');
  await h.store.devices.remove(user, 'laptop', now + 2);
  assert.equal(await tryUpgrade(h.wsUrl, await headers('tablet')), 'opened');
});

test('SessionControl closes the device with 4011 (removed) or 4012 (limit)', async () => {
  const user = randomName('ctl');
  const topic = gatewayDeliveriesTopic(h.gatewayId).name;
  const control = (deviceId: string, reasonCode: string): GatewayDelivery => ({
    gatewayId: h.gatewayId,
    userId: user,
    deviceId,
    createdAtMs: Date.now(),
    payload: { 'chatmesh.gateway.SessionControl': { action: 'DISCONNECT', reasonCode } },
  });
  const removed = await h.connect(user, 'd1');
  const limited = await h.connect(user, 'd2');
  await Promise.all([removed, limited].map((c) => c.waitForFrame((f) => f.type === 'syncDone', 'syncDone')));
  await deliveries().send(topic, user, control('d2', 'CM_ERR_DEVICE_LIMIT'));
  assert.equal((await limited.closed).code, 4012);
  assert.equal(removed.closeEvent, null, 'only the named device');
  await deliveries().send(topic, user, control('d1', 'CM_ERR_DEVICE_REMOVED'));
  assert.equal((await removed.closed).code, 4011);
});

async function api(
  path: string,
  init: { method?: string; body?: string; token?: string | null } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${h.gateway.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('HTTP devices and settings: auth required, validation, 202 and the PresenceEvent produced', async () => {
  const presence = await h.collect(TOPICS.presenceEvents.name);
  const user = randomName('acct');
  const token = await h.token(user, 'phone');
  await h.store.devices.register(user, 'phone', 1_000);
  await h.store.devices.register(user, 'laptop', 2_000);
  const c = await h.connect(user, 'phone');
  await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');

  for (const [method, path] of [
    ['GET', '/v1/devices'],
    ['DELETE', '/v1/devices/laptop'],
    ['GET', '/v1/settings'],
    ['PUT', '/v1/settings'],
  ] as const) {
    const refused = await api(path, { method, token: null, ...(method === 'PUT' ? { body: '{}' } : {}) });
    assert.deepEqual([refused.status, refused.body['code']], [401, 'CM_ERR_AUTH_MISSING_TOKEN'], `${method} ${path}`);
  }

  const listed = await api('/v1/devices', { token });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body, {
    maxDevices: 2,
    devices: [
      { deviceId: 'phone', registeredAtMs: 1_000, online: true, current: true },
      { deviceId: 'laptop', registeredAtMs: 2_000, online: false, current: false },
    ],
  });

  const unknown = await api('/v1/devices/nope', { method: 'DELETE', token });
  assert.deepEqual([unknown.status, unknown.body['code']], [404, 'CM_ERR_DEVICE_UNKNOWN']);
  const removal = await api('/v1/devices/laptop', { method: 'DELETE', token });
  assert.equal(removal.status, 202);
  assert.match(String(removal.body['requestId']), /^http:/);

  assert.deepEqual((await api('/v1/settings', { token })).body, { readReceipts: true, presenceVisible: true });
  for (const bad of ['{}', '{"readReceipts":"no"}', '{"readReceipts":false,"admin":true}', 'not json']) {
    const refused = await api('/v1/settings', { method: 'PUT', token, body: bad });
    assert.deepEqual([refused.status, refused.body['code']], [400, 'CM_ERR_GATEWAY_BAD_REQUEST'], bad);
  }
  const change = await api('/v1/settings', { method: 'PUT', token, body: '{"readReceipts":false}' });
  assert.equal(change.status, 202);

  const decoded = async () =>
    (await decodeAll<PresenceEvent>(presence)).filter(
      (e) => e.userId === user && !('chatmesh.presence.DeviceStatusChange' in e.change),
    );
  await waitFor(async () => (await decoded()).length === 2, { description: 'two account events' });
  const [removalEvent, privacyEvent] = await decoded();
  assert.deepEqual(removalEvent!.change, {
    'chatmesh.presence.DeviceRemoval': { removedDeviceId: 'laptop', requestId: removal.body['requestId'] },
  });
  assert.deepEqual([removalEvent!.deviceId, removalEvent!.gatewayId], ['phone', h.gatewayId]);
  assert.deepEqual(privacyEvent!.change, {
    'chatmesh.presence.PrivacyChange': { readReceipts: false, presenceVisible: null },
  });
  assert.ok(presence.filter((r) => r.key === user).length >= 3, 'keyed by the user');
  await c.close();
});
