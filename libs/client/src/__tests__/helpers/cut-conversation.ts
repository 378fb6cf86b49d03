/**
 * The SDK-against-a-real-gateway scenario, shared by the embedded and the stack test: two users on a
 * direct chat send to each other while their connections are cut mid-stream (by a proxy that destroys
 * both sides, and by terminating the client's socket); then every client must have every message of the
 * other user exactly once, in chat order, and the same chat history as the other.
 */
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { randomName, startLoopbackProxy, waitFor } from '@chatmesh/testing';
import type { MessageReceivedFrame } from '@chatmesh/protocol';
import { createChatClient, type ChatClient, type ClientError } from '../../index.js';
import type { ChatmeshSystem } from './chatmesh-system.js';

export interface CutConversationOptions {
  /** Messages each user sends. */
  readonly messagesPerUser: number;
  /** Sends in flight per user. */
  readonly inFlight: number;
  /**
   * A cut every this many acknowledged sends (counting both users). Cuts follow progress rather than
   * a clock: a cut every N ms would livelock a slow stack whose round trip exceeds N (every in-flight
   * answer lost, every command re-sent, forever), which proves nothing.
   */
  readonly cutEveryAcks: number;
  /** How long to wait for everything to arrive, in milliseconds. */
  readonly settleTimeoutMs: number;
  /**
   * Converse in a group with this many more (never connected) members instead of a direct chat: with the
   * system's broadcast threshold at or below its size, the conversation runs over a broadcast chat.
   */
  readonly groupExtraMembers?: number;
  /** The group is a broadcast chat: check that every message came without an inbox position. */
  readonly expectBroadcast?: boolean;
  /** Progress lines every 5 s (slow stacks). */
  readonly progress?: (line: string) => void;
}

interface Participant {
  readonly userId: string;
  readonly client: ChatClient;
  readonly sockets: WebSocket[];
  readonly received: MessageReceivedFrame[];
  readonly chatCreated: number[];
  readonly errors: ClientError[];
}

export async function runCutConversation(
  system: ChatmeshSystem,
  options: CutConversationOptions,
): Promise<{ cuts: number; terminations: number; reconnects: number }> {
  const proxy = await startLoopbackProxy(system.url);
  const participants: Participant[] = [];
  const open = (userId: string): Participant => {
    const sockets: WebSocket[] = [];
    const client = createChatClient({
      url: proxy.url,
      deviceId: 'phone',
      tokenProvider: ({ deviceId }) => system.token(userId, deviceId ?? 'phone'),
      webSocketFactory: (url) => {
        const socket = new WebSocket(url);
        socket.on('error', () => undefined);
        sockets.push(socket);
        return socket;
      },
      backoff: { initialDelayMs: 20, maxDelayMs: 300 },
      ackDebounceMs: 10,
    });
    const participant: Participant = { userId, client, sockets, received: [], chatCreated: [], errors: [] };
    client.on('messageReceived', (frame) => participant.received.push(frame));
    client.on('chatCreated', (frame) => participant.chatCreated.push(frame.seq));
    client.on('error', (error) => participant.errors.push(error));
    participants.push(participant);
    return participant;
  };
  const alice = open(randomName('alice').replace(/[^A-Za-z0-9._-]/g, '-'));
  const bob = open(randomName('bob').replace(/[^A-Za-z0-9._-]/g, '-'));
  let terminations = 0;
  let progressTimer: ReturnType<typeof setInterval> | undefined;
  try {
    await Promise.all([alice.client.connected(), bob.client.connected()]);
    const chatId =
      options.groupExtraMembers === undefined
        ? (await alice.client.createDirectChat(bob.userId)).chatId
        : (
            await alice.client.createGroup('cut', [
              bob.userId,
              ...Array.from({ length: options.groupExtraMembers }, (_, i) => `${alice.userId}-extra-${i}`),
            ])
          ).chatId;
    await waitFor(() => bob.chatCreated.length === 1, { description: 'bob sees the chat', timeoutMs: 20_000 });

    // Cut mid-stream, alternating: the proxy destroys every connection (the gateway sees its clients
    // vanish with frames in flight both ways), then one client's own socket is terminated.
    let acked = 0;
    let turn = 0;
    const onAck = (): void => {
      acked += 1;
      if (acked % options.cutEveryAcks !== 0) return;
      turn += 1;
      if (turn % 2 === 1) proxy.cutAll();
      else {
        const victim = participants[turn % participants.length]!;
        const socket = victim.sockets.at(-1);
        if (socket && socket.readyState === WebSocket.OPEN) {
          socket.terminate();
          terminations += 1;
        }
      }
    };
    if (options.progress) {
      progressTimer = setInterval(
        () =>
          options.progress?.(
            `acked ${acked}/${2 * options.messagesPerUser}, cut ${proxy.cuts}, terminated ${terminations}, ` +
              `received alice ${alice.received.length} bob ${bob.received.length}`,
          ),
        5_000,
      );
    }

    const sendAll = async (p: Participant): Promise<void> => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < options.messagesPerUser) {
          const i = next++;
          const ack = await p.client.send(chatId, { body: `${p.userId}#${i}` });
          assert.equal(ack.chatId, chatId);
          onAck();
        }
      };
      await Promise.all(Array.from({ length: options.inFlight }, worker));
    };
    await Promise.all([sendAll(alice), sendAll(bob)]);

    const fromOther = (p: Participant): MessageReceivedFrame[] => p.received.filter((f) => f.by.userId !== p.userId);
    await waitFor(
      () => fromOther(alice).length >= options.messagesPerUser && fromOther(bob).length >= options.messagesPerUser,
      {
        description: `each user to receive the other's ${options.messagesPerUser} messages (alice has ${fromOther(alice).length}, bob ${fromOther(bob).length})`,
        timeoutMs: options.settleTimeoutMs,
      },
    );

    for (const p of [alice, bob]) {
      const other = p === alice ? bob : alice;
      const theirs = fromOther(p);
      // Nothing lost, nothing twice.
      assert.deepEqual(
        theirs.map((f) => f.body).sort(),
        Array.from({ length: options.messagesPerUser }, (_, i) => `${other.userId}#${i}`).sort(),
        `${p.userId} has each of ${other.userId}'s messages once`,
      );
      // Order kept: the chat's seqs only go up, with no repeat, across every reconnect.
      const seqs = p.received.map((f) => f.seq);
      for (let i = 1; i < seqs.length; i++)
        assert.ok(seqs[i]! > seqs[i - 1]!, `${p.userId}: seq ${seqs[i]} after ${seqs[i - 1]}`);
      assert.deepEqual(p.chatCreated, [1], `${p.userId} saw chatCreated once, at seq 1`);
      if (options.groupExtraMembers !== undefined && options.expectBroadcast === true) {
        // Really the broadcast path: frames of a broadcast chat have no inbox position.
        assert.ok(
          p.received.every((f) => f.inboxSeq === undefined),
          `${p.userId}: every message came through the broadcast path`,
        );
      }
      assert.equal(p.client.pendingCommands, 0);
      assert.deepEqual(
        p.errors.filter((e) => e.code !== 'CM_ERR_CLIENT_TOKEN_FAILED').map((e) => `${e.code}: ${e.message}`),
        [],
      );
    }
    // Both see the same history for what both received.
    const bySeq = new Map(alice.received.map((f) => [f.seq, f.clientMessageId]));
    for (const f of bob.received) if (bySeq.has(f.seq)) assert.equal(bySeq.get(f.seq), f.clientMessageId);
    return { cuts: proxy.cuts, terminations, reconnects: alice.sockets.length + bob.sockets.length - 2 };
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    for (const p of participants) await p.client.close();
    await proxy.close();
  }
}
