import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { CLOSE_CODES, directChatId, type InboxFrame, type MessageReceivedFrame } from '@chatmesh/protocol';
import {
  ClientError,
  createChatClient,
  createMemoryOutboxStorage,
  type ChatClient,
  type ChatClientOptions,
  type DisconnectedEvent,
} from '../index.js';
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

/** A client of the fake gateway whose sockets the test can reach (to terminate them). */
function connectClient(userId: string, options: Partial<ChatClientOptions> = {}) {
  const sockets: WebSocket[] = [];
  const client = createChatClient({
    url: gateway.url,
    tokenProvider: () => fakeToken(userId),
    webSocketFactory: (url) => {
      const socket = new WebSocket(url);
      sockets.push(socket);
      return socket;
    },
    backoff: { initialDelayMs: 5, maxDelayMs: 40 },
    ...options,
  });
  clients.push(client);
  const received: MessageReceivedFrame[] = [];
  client.on('messageReceived', (frame) => received.push(frame));
  const errors: ClientError[] = [];
  client.on('error', (error) => errors.push(error));
  return { client, sockets, received, errors };
}

function bodiesOf(frames: MessageReceivedFrame[]): string[] {
  return frames.map((f) => f.body ?? '');
}

describe('chat client against the fake gateway', () => {
  test("connects, sends through the outbox and receives its own and others' messages in order", async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connectClient('alice');
    const hello = await alice.client.connected();
    assert.equal(hello.userId, 'alice');
    const ack = await alice.client.send('c1', { body: 'hi' });
    assert.equal(ack.seq, 2);
    gateway.post('c1', 'bob', 'hello alice');
    await waitFor(() => alice.received.length === 2, 'two messages');
    assert.deepEqual(bodiesOf(alice.received), ['hi', 'hello alice']);
    assert.equal(alice.client.pendingCommands, 0);
  });

  test('connections cut mid-stream: nothing lost, nothing twice, order kept', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connectClient('alice', { ackDebounceMs: 2 });
    // Terminate alice's socket from the server side right after every 37th inbox position, once each,
    // mid-stream: frames already written but unacked are replayed on the next connection.
    const cutAt = new Set(Array.from({ length: 8 }, (_, i) => (i + 1) * 37));
    gateway.hooks.afterFrameSent = (frame, conn) => {
      if (conn.userId === 'alice' && cutAt.delete(frame.inboxSeq)) conn.socket.terminate();
    };
    await alice.client.connected();
    const total = 300;
    for (let i = 1; i <= total; i++) {
      gateway.post('c1', 'bob', `m${i}`);
      if (i % 50 === 0) {
        // And from the client side too, then wait for the next connection.
        const before = gateway.tokens.length;
        alice.sockets.at(-1)?.terminate();
        await waitFor(() => gateway.tokens.length > before && alice.client.state === 'live', 'a reconnect');
      }
    }
    await waitFor(() => alice.received.length >= total, `${total} messages`, 20_000);
    await waitFor(() => gateway.cursorOf('alice', 'd1') === total + 1, 'the cursor to reach the end');
    assert.deepEqual(
      bodiesOf(alice.received),
      Array.from({ length: total }, (_, i) => `m${i + 1}`),
    );
    assert.deepEqual(
      alice.received.map((f) => f.seq),
      Array.from({ length: total }, (_, i) => i + 2),
    );
    assert.equal(cutAt.size, 0, 'every cut happened');
    assert.ok(gateway.tokens.length >= 9, `reconnected several times (${gateway.tokens.length} connections)`);
  });

  test('acks are batched and move the cursor only past frames handed to the app', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    for (let i = 0; i < 50; i++) gateway.post('c1', 'bob', `m${i}`);
    const alice = connectClient('alice', { ackDebounceMs: 20 });
    await waitFor(() => gateway.cursorOf('alice', 'd1') === 51, 'the cursor to reach 51');
    const acks = gateway.frames.filter((f) => f.type === 'ack');
    assert.ok(acks.length >= 1 && acks.length < 10, `${acks.length} ack frames for 51 inbox frames`);
    assert.equal(alice.client.cursor, 51);
  });

  test('an unanswered send is re-sent with the same requestId and clientMessageId after a reconnect, stored once', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connectClient('alice');
    await alice.client.connected();
    let swallowed = 0;
    // The first attempt is stored but its answer is lost with the connection.
    gateway.hooks.answer = (frame, conn) => {
      if (frame.type === 'send' && swallowed++ === 0) {
        conn.socket.terminate();
        return 'swallow';
      }
      return undefined;
    };
    const ack = await alice.client.send('c1', { body: 'once' }, { clientMessageId: 'cm-1' });
    const sends = gateway.frames.filter((f) => f.type === 'send');
    assert.equal(sends.length, 2);
    assert.equal(sends[0]?.type === 'send' && sends[0].clientMessageId, 'cm-1');
    assert.equal(sends[1]?.type === 'send' && sends[1].clientMessageId, 'cm-1');
    assert.equal(sends[0]?.type === 'send' && sends[0].requestId, sends[1]?.type === 'send' && sends[1].requestId);
    assert.equal(ack.clientMessageId, 'cm-1');
    assert.equal(gateway.chats.get('c1')?.messages.length, 1, 'stored once');
    await waitFor(() => alice.received.length === 1, 'the message');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(alice.received.length, 1);
  });

  test('a retriable reject is retried with the same ids until acked; a final one rejects with the server code', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connectClient('alice');
    await alice.client.connected();
    let refusals = 0;
    gateway.hooks.answer = (frame) => {
      if (frame.type !== 'send') return undefined;
      if (frame.body === 'busy' && refusals++ < 3) return { code: 'CM_ERR_CHAT_RATE_LIMITED', retriable: true };
      if (frame.body === 'nope') return { code: 'CM_ERR_CHAT_FORBIDDEN', retriable: false };
      return undefined;
    };
    const ack = await alice.client.send('c1', { body: 'busy' });
    assert.equal(ack.seq, 2);
    const busy = gateway.frames.filter((f) => f.type === 'send' && f.body === 'busy');
    assert.equal(busy.length, 4);
    assert.equal(new Set(busy.map((f) => f.type === 'send' && f.clientMessageId)).size, 1);
    await assert.rejects(alice.client.send('c1', { body: 'nope' }), (error: unknown) => {
      assert.ok(error instanceof ClientError);
      assert.equal(error.code, 'CM_ERR_CLIENT_COMMAND_REJECTED');
      assert.equal(error.serverCode, 'CM_ERR_CHAT_FORBIDDEN');
      assert.equal(error.retriable, false);
      return true;
    });
    assert.equal(alice.client.pendingCommands, 0);
  });

  test('retriable refusals stop at maxCommandAttempts with CM_ERR_CLIENT_RETRIES_EXHAUSTED', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connectClient('alice', { maxCommandAttempts: 3 });
    gateway.hooks.answer = () => ({ code: 'CM_ERR_CHAT_RATE_LIMITED', retriable: true });
    await assert.rejects(alice.client.send('c1', { body: 'x' }), (error: unknown) => {
      assert.ok(error instanceof ClientError);
      assert.equal(error.code, 'CM_ERR_CLIENT_RETRIES_EXHAUSTED');
      assert.equal(error.serverCode, 'CM_ERR_CHAT_RATE_LIMITED');
      return true;
    });
    assert.equal(gateway.frames.filter((f) => f.type === 'send').length, 3);
  });

  test('a seq gap holds later frames, sends sync, and the replay fills it in order', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connectClient('alice');
    await alice.client.connected();
    await waitFor(() => alice.client.cursor === 1, 'chatCreated handed out');
    const gaps: unknown[] = [];
    alice.client.on('gap', (gap) => gaps.push(gap));
    // The live copy of seq 3 is lost (it stays in the inbox).
    gateway.hooks.deliverLive = (frame) => !(frame.type === 'messageReceived' && frame.seq === 3);
    gateway.post('c1', 'bob', 'two');
    gateway.post('c1', 'bob', 'three');
    gateway.post('c1', 'bob', 'four');
    await waitFor(() => alice.received.length === 3, 'three messages');
    assert.deepEqual(bodiesOf(alice.received), ['two', 'three', 'four']);
    assert.deepEqual(gaps, [{ chatId: 'c1', expectedSeq: 3, heldFromSeq: 4 }]);
    const syncs = gateway.frames.filter((f) => f.type === 'sync');
    assert.equal(syncs.length, 1);
    assert.deepEqual(syncs[0], { type: 'sync', fromInboxSeq: 2, userId: 'alice' });
    await waitFor(() => gateway.cursorOf('alice', 'd1') === 4, 'cursor 4');
  });

  test('a gap that no sync fills is released after gapTimeoutMs with CM_ERR_CLIENT_SEQUENCE_GAP', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connectClient('alice', { gapTimeoutMs: 50 });
    await alice.client.connected();
    await waitFor(() => alice.client.cursor === 1, 'chatCreated handed out');
    // seq 2 never reaches alice's inbox at all.
    gateway.chats.get('c1')!.seq = 2;
    gateway.post('c1', 'bob', 'three');
    await waitFor(() => alice.received.length === 1, 'the released message');
    assert.equal(alice.received[0]?.seq, 3);
    assert.equal(alice.errors.length, 1);
    assert.equal(alice.errors[0]?.code, 'CM_ERR_CLIENT_SEQUENCE_GAP');
  });

  test('dedupes by (chatId, seq) when the same message comes at another inbox position', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const alice = connectClient('alice');
    await alice.client.connected();
    gateway.post('c1', 'bob', 'one');
    await waitFor(() => alice.received.length === 1, 'one message');
    // The same message lands in the inbox twice (at two positions), as a redelivery upstream could do.
    const { inboxSeq: _position, ...original } = gateway.inboxOf('alice').at(-1) as InboxFrame;
    const copy = gateway.appendSilently('alice', original);
    const conn = gateway.connections.find((c) => c.userId === 'alice')!;
    gateway.sendRaw(conn, copy);
    gateway.post('c1', 'bob', 'two');
    await waitFor(() => alice.received.length === 2, 'two messages');
    assert.deepEqual(bodiesOf(alice.received), ['one', 'two']);
  });

  for (const { code, name } of [CLOSE_CODES.REPLACED, CLOSE_CODES.DEVICE_REMOVED].map((c) => ({
    code: c.code,
    name: c.type,
  }))) {
    test(`no reconnect after ${code} ${name}: pending sends reject with CM_ERR_CLIENT_CLOSED`, async () => {
      gateway.createChat('c1', ['alice', 'bob']);
      const alice = connectClient('alice');
      await alice.client.connected();
      gateway.hooks.answer = () => 'swallow';
      const pending = alice.client.send('c1', { body: 'x' });
      await waitFor(() => gateway.frames.some((f) => f.type === 'send'), 'the send');
      const disconnected: DisconnectedEvent[] = [];
      alice.client.on('disconnected', (event) => disconnected.push(event));
      gateway.connections[0]?.socket.close(code, 'bye');
      await assert.rejects(
        pending,
        (error: unknown) => error instanceof ClientError && error.code === 'CM_ERR_CLIENT_CLOSED',
      );
      assert.equal(alice.client.state, 'closed');
      assert.deepEqual(disconnected, [{ code, reason: 'bye', willReconnect: false, retryInMs: undefined }]);
      assert.equal(alice.errors[0]?.code, 'CM_ERR_CLIENT_CONNECTION_ENDED');
      await assert.rejects(
        alice.client.connected(),
        (error: unknown) => error instanceof ClientError && error.code === 'CM_ERR_CLIENT_CLOSED',
      );
      // Proving a negative: wait well past the largest backoff (40 ms) and check nobody reconnected.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(gateway.tokens.length, 1);
    });
  }

  test('4001 asks the token provider again with reason authExpired and reconnects', async () => {
    const reasons: string[] = [];
    let n = 0;
    const alice = connectClient('alice', {
      tokenProvider: ({ reason }) => {
        reasons.push(reason);
        return n++ === 0 ? 'expired.d1' : fakeToken('alice');
      },
    });
    gateway.refusedTokens.add('expired.d1');
    const hello = await alice.client.connected();
    assert.equal(hello.userId, 'alice');
    assert.deepEqual(reasons, ['connect', 'authExpired']);
  });

  test('a reconnect frame makes the client leave after retryAfterMs (plus jitter) and come back', async () => {
    const alice = connectClient('alice', { random: () => 0.5 });
    await alice.client.connected();
    const before = Date.now();
    const conn = gateway.connections[0]!;
    gateway.sendRaw(conn, { type: 'reconnect', code: 'CM_ERR_COMMON_SHUTTING_DOWN', retryAfterMs: 60 });
    await waitFor(() => gateway.tokens.length === 2 && alice.client.state === 'live', 'a second connection');
    assert.ok(Date.now() - before >= 85, `waited ${Date.now() - before} ms (>= 60 * 1.5)`);
  });

  test('reconnect delays use full jitter within exponential bounds', async () => {
    const delays: number[] = [];
    const alice = connectClient('alice', { random: () => 0.999, backoff: { initialDelayMs: 4, maxDelayMs: 30 } });
    gateway.refusedTokens.add(fakeToken('alice'));
    alice.client.on('disconnected', (event) => {
      if (event.retryInMs !== undefined) delays.push(event.retryInMs);
    });
    await waitFor(() => delays.length >= 6, 'six reconnect attempts');
    await alice.client.close();
    // random() ~ 1 gives the ceiling: 4, 8, 16, then capped at 30.
    assert.deepEqual(delays.slice(0, 6), [3, 7, 15, 29, 29, 29]);
  });

  test('createDirectChat uses directChatId and createGroup a fresh id', async () => {
    const alice = connectClient('alice');
    const direct = await alice.client.createDirectChat('bob');
    assert.equal(direct.chatId, directChatId('alice', 'bob'));
    assert.equal(direct.seq, 1);
    const group = await alice.client.createGroup('team', ['bob', 'carol']);
    assert.notEqual(group.chatId, direct.chatId);
    const created: string[] = [];
    alice.client.on('chatCreated', (frame) => created.push(frame.chatId));
    await waitFor(() => alice.client.cursor === 2, 'both chatCreated');
    const creates = gateway.frames.filter((f) => f.type === 'createChat');
    assert.deepEqual(
      creates.map((f) => f.type === 'createChat' && [f.kind, f.members]),
      [
        ['direct', ['bob']],
        ['group', ['bob', 'carol']],
      ],
    );
  });

  test('markRead, setTyping and subscribePresence send their frames; presence is re-sent after a reconnect', async () => {
    const alice = connectClient('alice');
    await alice.client.connected();
    alice.client.markRead('c1', 5);
    alice.client.setTyping('c1', true);
    alice.client.subscribePresence(['bob', 'bob', 'carol']);
    await waitFor(() => gateway.frames.some((f) => f.type === 'presenceSubscribe'), 'presenceSubscribe');
    gateway.connections[0]?.socket.terminate();
    await waitFor(
      () => gateway.frames.filter((f) => f.type === 'presenceSubscribe').length === 2,
      'a second presenceSubscribe',
    );
    const types = gateway.frames.map((f) => f.type);
    assert.ok(types.includes('read') && types.includes('typing'));
    assert.deepEqual(
      gateway.frames.find((f) => f.type === 'presenceSubscribe'),
      { type: 'presenceSubscribe', userIds: ['bob', 'carol'], userId: 'alice' },
    );
  });

  test('typing, presence and receipt frames become typed events', async () => {
    const alice = connectClient('alice');
    await alice.client.connected();
    const seen: string[] = [];
    alice.client.on('typing', (f) => seen.push(`typing:${f.userId}:${f.typing}`));
    alice.client.on('presence', (f) => seen.push(`presence:${f.userId}:${f.online}`));
    alice.client.on('receipt', (f) => seen.push(`receipt:${f.status}:${f.upToSeq}`));
    const conn = gateway.connections[0]!;
    gateway.sendRaw(conn, {
      type: 'typing',
      chatId: 'c1',
      userId: 'bob',
      typing: true,
      expiresAtMs: Date.now() + 5000,
    });
    gateway.sendRaw(conn, { type: 'presence', userId: 'bob', online: true, lastSeenMs: null });
    gateway.sendRaw(conn, {
      type: 'receipt',
      chatId: 'c1',
      fromSeq: 2,
      upToSeq: 3,
      status: 'read',
      byUserId: 'bob',
      atMs: 1,
    });
    gateway.sendRaw(conn, { type: 'bogus' });
    await waitFor(() => seen.length === 3 && alice.errors.length === 1, 'three events and one error');
    assert.deepEqual(seen, ['typing:bob:true', 'presence:bob:true', 'receipt:read:3']);
    assert.equal(alice.errors[0]?.code, 'CM_ERR_CLIENT_INVALID_FRAME');
  });

  test('close() rejects pending commands with CM_ERR_CLIENT_CLOSED; a new client on the same storage sends them', async () => {
    gateway.createChat('c1', ['alice', 'bob']);
    const storage = createMemoryOutboxStorage();
    const first = connectClient('alice', { storage });
    await first.client.connected();
    gateway.hooks.answer = () => 'swallow';
    const pending = first.client.send('c1', { body: 'later' }, { clientMessageId: 'cm-later' });
    await waitFor(() => gateway.frames.some((f) => f.type === 'send'), 'the send');
    await first.client.close();
    await assert.rejects(
      pending,
      (error: unknown) => error instanceof ClientError && error.code === 'CM_ERR_CLIENT_CLOSED',
    );
    assert.equal((await storage.load()).length, 1);
    gateway.hooks.answer = undefined;
    const second = connectClient('alice', { storage });
    const acks: string[] = [];
    second.client.on('ack', (ack) => acks.push(ack.clientMessageId ?? ''));
    await waitFor(() => acks.length === 1, 'the restored command acked');
    assert.deepEqual(acks, ['cm-later']);
    await waitFor(() => second.received.length === 1, 'the message');
    assert.equal((await storage.load()).length, 0);
  });

  test('a client that is never answered with hello drops the socket and retries', async () => {
    let refuse = true;
    const alice = connectClient('alice', {
      connectTimeoutMs: 50,
      webSocketFactory: (url) => {
        if (refuse) {
          refuse = false;
          // A socket that opens nowhere: a hello never comes.
          return { readyState: 0, onopen: null, onmessage: null, onclose: null, onerror: null, send() {}, close() {} };
        }
        return new WebSocket(url);
      },
    });
    const hello = await alice.client.connected();
    assert.equal(hello.userId, 'alice');
  });
});
