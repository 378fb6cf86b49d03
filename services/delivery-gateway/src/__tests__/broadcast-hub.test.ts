import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServerFrame } from '@chatmesh/protocol';
import { createLocalCodec, TOPICS, valueSubjectOf, type ChatEvent } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { BroadcastHub, broadcastTopic, type BroadcastJoin, type BroadcastMember } from '../broadcast-hub.js';

// The hub's guarantees without sockets: every member gets each seq once, in order, whatever the race
// between its join (a chat log read) and the chat.broadcast consumer.

const codec = createLocalCodec();
const subject = valueSubjectOf(TOPICS.chatEvents.name);
const chatId = 'big-1';

function message(seq: number): ChatEvent {
  return {
    chatId,
    seq,
    serverTimeMs: 1_000 + seq,
    origin: { userId: 'alice', deviceId: 'phone', gatewayId: 'gw', requestId: `r${seq}`, receivedAtMs: 1_000 },
    event: {
      'chatmesh.chat.MessageReceived': {
        clientMessageId: `m${seq}`,
        content: { body: `m${seq}`, envelopes: [], attachments: [] },
      },
    },
  };
}

function removal(seq: number, userIds: string[]): ChatEvent {
  return { ...message(seq), event: { 'chatmesh.chat.MembersRemoved': { userIds, reason: 'REMOVED' } } };
}

/** A member whose frames (direct sends and topic publishes) land in one list, as a socket would see them. */
class FakeMember implements BroadcastMember {
  closed = false;
  broadcastJoins: Map<string, BroadcastJoin> | null = null;
  readonly topics = new Set<string>();
  readonly seqs: number[] = [];
  readonly frames: ServerFrame[] = [];
  constructor(
    readonly userId: string,
    readonly deviceId = 'phone',
  ) {}
  sendFrames(frames: readonly ServerFrame[]): boolean {
    for (const frame of frames) this.receive(frame);
    return !this.closed;
  }
  receive(frame: ServerFrame): void {
    this.frames.push(frame);
    if (frame.type === 'messageReceived') this.seqs.push(frame.seq);
  }
  subscribeTopic(topic: string): boolean {
    this.topics.add(topic);
    return true;
  }
  unsubscribeTopic(topic: string): void {
    this.topics.delete(topic);
  }
}

async function setup(joinWaitMs = 2_000) {
  const store = createMemoryStore();
  const members: FakeMember[] = [];
  const outcomes: string[] = [];
  const hub = new BroadcastHub({
    store,
    codec,
    joinWaitMs,
    publish(topic, text) {
      for (const member of members) if (member.topics.has(topic)) member.receive(JSON.parse(text) as ServerFrame);
    },
    sessionsOf: (userId) => members.filter((m) => m.userId === userId),
    onJoin: (outcome) => outcomes.push(outcome),
  });
  const append = async (event: ChatEvent): Promise<void> => {
    await store.chatLog.write(
      {
        streamId: chatId,
        seq: event.seq,
        idempotencyKey: `k${event.seq}`,
        kind: 'message',
        payload: await codec.encode(subject, event),
        createdAtMs: 0,
      },
      1,
    );
  };
  const member = (userId: string): FakeMember => {
    const created = new FakeMember(userId);
    members.push(created);
    return created;
  };
  return { store, hub, append, member, outcomes };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('a join while the consumer lags behind the chat log waits for it, then gets the rest live: no gap, no duplicate', async () => {
  const { hub, append, member, outcomes } = await setup();
  for (let seq = 1; seq <= 5; seq++) await append(message(seq));
  const early = member('bob');
  await hub.join(early, chatId, 0);
  assert.deepEqual(early.seqs, range(1, 5));
  // The log runs ahead of the consumer: 6..8 are stored, their records not yet read.
  for (let seq = 6; seq <= 8; seq++) await append(message(seq));
  await hub.onEvent(message(6));
  const late = member('carol');
  const joining = hub.join(late, chatId, 2);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(late.broadcastJoins?.get(chatId)?.live, false, 'still waiting for the consumer');
  await hub.onEvent(message(7));
  await hub.onEvent(message(8));
  await joining;
  await append(message(9));
  await hub.onEvent(message(9));
  await hub.onEvent(message(9));
  assert.deepEqual(early.seqs, range(1, 9));
  assert.deepEqual(late.seqs, range(3, 9));
  assert.deepEqual(outcomes, ['subscribed', 'subscribed']);
});

test('events published while a join reads the log are read from the log, not lost', async () => {
  const { hub, append, member } = await setup();
  for (let seq = 1; seq <= 3; seq++) await append(message(seq));
  const bob = member('bob');
  await hub.join(bob, chatId, 0);
  const carol = member('carol');
  for (let seq = 4; seq <= 450; seq++) await append(message(seq));
  const joining = hub.join(carol, chatId, 0);
  // Published to subscribers while carol is still reading her backlog in batches.
  for (let seq = 4; seq <= 450; seq++) await hub.onEvent(message(seq));
  await joining;
  await append(message(451));
  await hub.onEvent(message(451));
  assert.deepEqual(bob.seqs, range(1, 451));
  assert.deepEqual(carol.seqs, range(1, 451));
});

test('records the consumer never saw are read from the chat log and published in order', async () => {
  const { hub, append, member } = await setup();
  for (let seq = 1; seq <= 6; seq++) await append(message(seq));
  const bob = member('bob');
  await hub.join(bob, chatId, 0);
  await hub.onEvent(message(6)); // a duplicate of what the join read
  for (let seq = 7; seq <= 10; seq++) await append(message(seq));
  await hub.onEvent(message(10)); // 7..9 never came
  assert.deepEqual(bob.seqs, range(1, 10));
});

test('a consumer that never catches up: the join subscribes after the wait and says so', async () => {
  const { hub, append, member, outcomes } = await setup(50);
  for (let seq = 1; seq <= 3; seq++) await append(message(seq));
  const bob = member('bob');
  await hub.join(bob, chatId, 0);
  await append(message(4));
  const carol = member('carol');
  await hub.join(carol, chatId, 0);
  assert.deepEqual(carol.seqs, range(1, 4));
  assert.equal(carol.topics.has(broadcastTopic(chatId)), true);
  assert.deepEqual(outcomes, ['subscribed', 'waited_out']);
});

test('a removed member leaves before the removal is published and the join stops at it', async () => {
  const { hub, append, member } = await setup();
  await append(message(1));
  const bob = member('bob');
  const carol = member('carol');
  await hub.join(bob, chatId, 0);
  await hub.join(carol, chatId, 0);
  await append(removal(2, ['carol']));
  await hub.onEvent(removal(2, ['carol']));
  await append(message(3));
  await hub.onEvent(message(3));
  assert.deepEqual(bob.seqs, [1, 3]);
  assert.equal(bob.frames.filter((f) => f.type === 'membersRemoved').length, 1);
  assert.deepEqual(carol.seqs, [1]);
  assert.equal(carol.frames.length, 1, 'carol gets neither the removal (her inbox has it) nor anything after');
  assert.equal(carol.broadcastJoins, null);
  assert.equal(hub.subscriptions, 1);
  // A join from before her removal (a stale sync) stops at it.
  const again = member('carol');
  await hub.join(again, chatId, 0);
  assert.deepEqual(again.seqs, [1]);
  assert.equal(again.topics.size, 0);
});

test('a closed member is forgotten; a re-join replaces the running one', async () => {
  const { hub, append, member } = await setup();
  for (let seq = 1; seq <= 3; seq++) await append(message(seq));
  const bob = member('bob');
  await hub.join(bob, chatId, 0);
  await hub.join(bob, chatId, 1);
  assert.deepEqual(bob.seqs, [1, 2, 3, 2, 3]);
  assert.equal(hub.subscriptions, 1);
  bob.closed = true;
  hub.closed(bob);
  assert.equal(hub.subscriptions, 0);
});
