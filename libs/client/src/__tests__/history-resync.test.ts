/**
 * Retention in the SDK, against the fake gateway: after a `syncGap` the client catches up from the chat history
 * (every message the history keeps, once and in order, before the frames that came after the gap), reports what the
 * history lost as a `historyGap` event, and acks past the gap only then; an outbox entry older than
 * `outboxMaxAgeMs` is dropped unsent.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { ClientError, createChatClient, type ChatClient, type ChatClientOptions } from '../index.js';
import { fakeToken, startFakeGateway, type FakeGateway } from './helpers/fake-gateway.js';
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

function connect(userId: string, options: Partial<ChatClientOptions> = {}): { client: ChatClient; log: string[] } {
  const client = createChatClient({
    url: gateway.url,
    deviceId: 'd1',
    tokenProvider: () => fakeToken(userId),
    webSocketFactory: (url) => new WebSocket(url),
    backoff: { initialDelayMs: 5, maxDelayMs: 40 },
    ackDebounceMs: 5,
    ...options,
  });
  clients.push(client);
  const log: string[] = [];
  client.on('chatCreated', (f) => log.push(`created:${f.chatId}:${f.seq}`));
  client.on('messageReceived', (f) => log.push(`message:${f.chatId}:${f.seq}`));
  client.on('syncGap', (f) => log.push(`syncGap:${f.fromInboxSeq}-${f.toInboxSeq}`));
  client.on('historyGap', (g) => log.push(`historyGap:${g.chatId}:${g.fromSeq}-${g.toSeq}`));
  client.on('syncDone', (f) => log.push(`syncDone:${f.upToInboxSeq}`));
  return { client, log };
}

describe('retention: syncGap resync and the outbox horizon', () => {
  test('a syncGap is filled from the history, in order and once; what the history lost is a historyGap', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    gateway.createChat('c2', ['alice', 'bob']);
    const first = connect('bob');
    await waitFor(() => first.log.includes('syncDone:2'), 'first syncDone');
    await waitFor(() => gateway.cursorOf('bob', 'd1') === 2, 'cursor 2');
    await first.client.close();

    // While bob is away: three messages in c1, one in c2; the inbox then loses positions 3-5, c1's history seq 2.
    for (const body of ['m2', 'm3', 'm4']) gateway.post('c1', 'alice', body); // c1 seqs 2-4, inbox 3-5
    gateway.post('c2', 'alice', 'n2'); // c2 seq 2, inbox 6
    gateway.expireInbox('bob', 5);
    gateway.expireHistory('c1', 2);

    const back = connect('bob', { historyPosition: () => 1 });
    await waitFor(() => back.log.some((line) => line.startsWith('syncDone')), 'syncDone after the resync');
    assert.deepEqual(back.log, [
      'syncGap:3-5',
      'historyGap:c1:2-2',
      'message:c1:3',
      'message:c1:4',
      'message:c2:2',
      'syncDone:6',
    ]);
    // The gap's positions count as handled once the history filled it: the ack covers them.
    await waitFor(() => gateway.cursorOf('bob', 'd1') === 6, 'cursor 6');
  });

  test('frames that come after the syncGap wait for the resync, then are handed out once', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const first = connect('bob');
    await waitFor(() => first.log.includes('syncDone:1'), 'first syncDone');
    await waitFor(() => gateway.cursorOf('bob', 'd1') === 1, 'cursor 1');
    // The same client reconnects: it knows c1 up to seq 1 (no historyPosition needed).
    gateway.post('c1', 'alice', 'm2'); // inbox 2, live
    await waitFor(() => first.log.includes('message:c1:2'), 'live m2');
    gateway.hooks.deliverLive = () => false;
    gateway.post('c1', 'alice', 'm3'); // inbox 3, not live
    gateway.post('c1', 'alice', 'm4'); // inbox 4, not live
    gateway.expireInbox('bob', 3);
    const conn = gateway.connections.find((c) => c.userId === 'bob')!;
    conn.socket.close(1011, 'restart');
    await waitFor(() => first.log.filter((line) => line.startsWith('syncDone')).length === 2, 'second syncDone');
    assert.deepEqual(first.log.slice(first.log.indexOf('message:c1:2') + 1), [
      'syncGap:3-3',
      'message:c1:3',
      'message:c1:4',
      'syncDone:4',
    ]);
    await waitFor(() => gateway.cursorOf('bob', 'd1') === 4, 'cursor 4');
  });

  test('a failed history fetch is reported and the next connection resyncs: every frame once, in order', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    gateway.post('c1', 'alice', 'm2'); // inbox 2
    gateway.post('c1', 'alice', 'm3'); // inbox 3
    gateway.expireInbox('bob', 2);
    const routes = gateway.http.chatRoutes;
    let refused = 0;
    gateway.http.chatRoutes = (userId, path, query) => {
      if (refused === 0) {
        refused += 1;
        return undefined; // a 404: the fetch fails
      }
      return routes?.(userId, path, query);
    };
    const { client, log } = connect('bob');
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    await waitFor(() => log.includes('syncDone:3'), 'syncDone after the second resync');
    assert.deepEqual(errors, ['CM_ERR_CLIENT_RESYNC_FAILED']);
    assert.equal(refused, 1);
    assert.deepEqual(
      log.filter((line) => !line.startsWith('syncGap')),
      ['created:c1:1', 'message:c1:2', 'message:c1:3', 'syncDone:3'],
      'each frame once, in order, across the two attempts',
    );
    assert.equal(log.filter((line) => line.startsWith('syncGap')).length, 2, 'the gap was named on both connections');
    await waitFor(() => gateway.cursorOf('bob', 'd1') === 3, 'cursor 3');
  });

  test('a command older than outboxMaxAgeMs is dropped unsent with CM_ERR_CLIENT_OUTBOX_EXPIRED', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    let now = 1_000_000;
    const { client } = connect('alice', { now: () => now, outboxMaxAgeMs: 60_000 });
    await client.connected();
    gateway.hooks.answer = () => 'swallow';
    const sent = client.send('c1', { body: 'late' }, { clientMessageId: 'late-1' });
    await waitFor(() => gateway.frames.some((f) => f.type === 'send'), 'first attempt');
    now += 60_001;
    gateway.connections.find((c) => c.userId === 'alice')!.socket.close(1011, 'restart');
    const error = await sent.then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ClientError);
    assert.equal(error.code, 'CM_ERR_CLIENT_OUTBOX_EXPIRED');
    assert.equal(error.context?.['clientMessageId'], 'late-1');
    await client.connected();
    assert.equal(gateway.frames.filter((f) => f.type === 'send').length, 1, 'never sent again');
  });
});
