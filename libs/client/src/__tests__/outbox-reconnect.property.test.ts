/**
 * The SDK's outbox and reconnect state machine under random schedules (fast-check): sends in two chats, the
 * other member posting, connections cut from either side, sends swallowed (never answered) and refused as
 * retriable, in any order. Whatever the schedule: every send settles once with an ack, the server stores each
 * client message id once, each chat keeps the order in which the app called send(), the app sees every message
 * once in chat order, and the outbox ends empty.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import type { MessageReceivedFrame } from '@chatmesh/protocol';
import { createChatClient, type CommandAck } from '../index.js';
import { fakeToken, startFakeGateway, type FakeGateway } from './helpers/fake-gateway.js';
import { waitFor } from './helpers/wait-for.js';

type Action =
  | { kind: 'send'; chat: 0 | 1; count: number }
  | { kind: 'post'; chat: 0 | 1 }
  | { kind: 'cutServer' }
  | { kind: 'cutClient' }
  | { kind: 'swallowNext' }
  | { kind: 'refuseNext' }
  | { kind: 'pause'; ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      chat: fc.constantFrom(0 as const, 1 as const),
      count: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('post' as const), chat: fc.constantFrom(0 as const, 1 as const) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'cutServer' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'cutClient' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'swallowNext' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'refuseNext' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
);

let gateway: FakeGateway;
before(async () => {
  gateway = await startFakeGateway();
});
after(async () => gateway.close());

let run = 0;

test('any schedule of sends, cuts, swallowed and refused commands: each message stored once, in order, seen once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), async (actions) => {
      run++;
      const chats = [`p${run}-a`, `p${run}-b`];
      for (const chatId of chats) gateway.createChat(chatId, [`alice${run}`, `bob${run}`]);
      const alice = `alice${run}`;
      const sockets: WebSocket[] = [];
      const client = createChatClient({
        url: gateway.url,
        tokenProvider: () => fakeToken(alice),
        webSocketFactory: (url) => {
          const socket = new WebSocket(url);
          sockets.push(socket);
          return socket;
        },
        backoff: { initialDelayMs: 2, maxDelayMs: 20 },
        ackDebounceMs: 2,
      });
      const received: MessageReceivedFrame[] = [];
      client.on('messageReceived', (frame) => received.push(frame));
      client.on('error', () => {});
      let swallow = 0;
      let refuse = 0;
      gateway.hooks.answer = (frame, conn) => {
        if (conn.userId !== alice || frame.type !== 'send') return undefined;
        if (swallow > 0) {
          swallow--;
          return 'swallow';
        }
        if (refuse > 0) {
          refuse--;
          return { code: 'CM_ERR_CHAT_RATE_LIMITED', retriable: true };
        }
        return undefined;
      };
      const sent: Array<Array<{ body: string; ack: Promise<CommandAck> }>> = [[], []];
      let posted = 0;
      try {
        await client.connected();
        for (const step of actions) {
          if (step.kind === 'send') {
            for (let i = 0; i < step.count; i++) {
              const body = `a${run}.${step.chat}.${sent[step.chat]!.length}`;
              const ack = client.send(chats[step.chat]!, { body });
              ack.catch(() => {});
              sent[step.chat]!.push({ body, ack });
            }
          } else if (step.kind === 'post') {
            gateway.post(chats[step.chat]!, `bob${run}`, `b${run}.${posted++}`);
          } else if (step.kind === 'cutServer') {
            gateway.connections
              .filter((c) => c.userId === alice)
              .at(-1)
              ?.socket.terminate();
          } else if (step.kind === 'cutClient') {
            sockets.at(-1)?.terminate();
          } else if (step.kind === 'swallowNext') swallow++;
          else if (step.kind === 'refuseNext') refuse++;
          else await new Promise((done) => setTimeout(done, step.ms));
        }
        // A swallowed send is only sent again on a new connection (it may have been stored): end with a cut.
        swallow = 0;
        sockets.at(-1)?.terminate();
        const acks = await Promise.all(sent.flat().map((s) => s.ack));
        assert.equal(acks.length, sent.flat().length);
        for (const [index, chatId] of chats.entries()) {
          const stored = gateway.chats.get(chatId)!.messages.filter((m) => m.by === alice);
          const ids = stored.map((m) => m.clientMessageId);
          assert.equal(new Set(ids).size, ids.length, 'each client message id stored once');
          assert.equal(stored.length, sent[index]!.length, 'every send stored');
          // The order the app called send() in is the chat's order.
          const seqOf = new Map((await Promise.all(sent[index]!.map((s) => s.ack))).map((a, i) => [i, a.seq]));
          const seqs = [...seqOf.values()];
          assert.deepEqual(
            seqs,
            [...seqs].sort((x, y) => x - y),
            `${chatId}: sends stored in the order they were made`,
          );
          const expected = gateway.chats.get(chatId)!.messages.length;
          await waitFor(() => received.filter((f) => f.chatId === chatId).length >= expected, `${chatId} seen`, 10_000);
          const seen = received.filter((f) => f.chatId === chatId).map((f) => f.seq);
          assert.deepEqual(
            seen,
            Array.from({ length: expected }, (_, i) => i + 2),
            `${chatId}: seen once, in order`,
          );
        }
        assert.equal(client.pendingCommands, 0);
      } catch (error) {
        // fast-check reports the schedule; this says what broke.
        process.stdout.write(`# run ${run}: ${(error as Error).message.split('\n')[0]}\n`);
        throw error;
      } finally {
        gateway.hooks.answer = undefined;
        await client.close();
      }
    }),
    { numRuns: 25, verbose: 1 },
  );
});
