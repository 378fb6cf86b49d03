/**
 * The retention scenario on a running chatmesh (embedded or on the real servers): bob's device reads the chat, goes
 * away, his inbox entries expire, and when he comes back (a restarted app that knows where its history ends) the SDK
 * is told (`syncGap`), catches up from the chat history and shows every message once and in order.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { createChatClient, type ChatClient } from '../../index.js';
import type { ChatmeshSystem } from './chatmesh-system.js';
import { waitFor } from './wait-for.js';

export async function runRetentionScenario(
  system: ChatmeshSystem,
  /** Makes every inbox entry written so far outlive the inbox retention. */
  expireInbox: () => Promise<void>,
): Promise<void> {
  const alice = `alice-${randomUUID().slice(0, 8)}`;
  const bob = `bob-${randomUUID().slice(0, 8)}`;
  const clients: ChatClient[] = [];
  const open = (userId: string, historyPosition?: (chatId: string) => number | undefined): ChatClient => {
    const client = createChatClient({
      url: system.url,
      deviceId: 'phone',
      tokenProvider: () => system.token(userId, 'phone'),
      webSocketFactory: (url) => new WebSocket(url),
      ackDebounceMs: 5,
      ...(historyPosition === undefined ? {} : { historyPosition }),
    });
    clients.push(client);
    return client;
  };
  try {
    const a = open(alice);
    await a.connected();
    const { chatId } = await a.createDirectChat(bob);
    await a.send(chatId, { body: 'm1' });

    // Bob's app shows the chat and m1, keeps where its history ends, and goes away.
    const stored: Array<{ seq: number; body: string | null }> = [];
    const firstBob = open(bob);
    firstBob.on('messageReceived', (f) => stored.push({ seq: f.seq, body: f.body }));
    await waitFor(() => stored.length === 1, 'bob has m1', 60_000);
    await waitFor(() => firstBob.cursor >= 2, 'bob handled the creation and m1', 60_000);
    await firstBob.close();

    await a.send(chatId, { body: 'm2' });
    // The ack comes once ingest stored m2; fan-out writes bob's inbox entry (3) after that.
    for (let tries = 0; (await system.store.inboxLog.get(bob, 3)) === null; tries++) {
      if (tries > 6000) throw new Error("timed out waiting for bob's inbox entry 3");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await expireInbox(); // bob's inbox entries of the creation, m1 and m2 expire; the chat log keeps every message
    await a.send(chatId, { body: 'm3' });

    const lastSeq = stored.at(-1)!.seq;
    const back = open(bob, (id) => (id === chatId ? lastSeq : undefined));
    const gaps: Array<{ from: number; to: number }> = [];
    const lost: unknown[] = [];
    back.on('syncGap', (f) => gaps.push({ from: f.fromInboxSeq, to: f.toInboxSeq }));
    back.on('historyGap', (g) => lost.push(g));
    back.on('messageReceived', (f) => stored.push({ seq: f.seq, body: f.body }));
    await waitFor(() => stored.length === 3, 'bob has m2 and m3', 60_000);
    assert.deepEqual(
      stored.map((m) => m.body),
      ['m1', 'm2', 'm3'],
      'every message once, in order',
    );
    // Up to m2's entry (3): the entries before it are named too if bob's last ack did not reach the server in time.
    assert.equal(gaps.length, 1, 'one syncGap');
    assert.equal(gaps[0]!.to, 3, "the expired inbox entries up to m2's were named");
    assert.deepEqual(lost, [], 'the chat log keeps everything: nothing lost for good');
    assert.equal(new Set(stored.map((m) => m.seq)).size, 3);
  } finally {
    for (const client of clients) await client.close();
  }
}
