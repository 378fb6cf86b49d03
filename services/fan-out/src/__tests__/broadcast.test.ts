import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createMemoryBus, type Bus, type OutgoingRecord } from '@chatmesh/bus';
import {
  createLocalCodec,
  topicSpecs,
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type InboxEntry,
  type PushRequest,
} from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import type { Schedule } from '../broadcast-push.js';
import { createEventExpander } from '../event-expander.js';

const buses: Bus[] = [];
after(async () => Promise.all(buses.map((b) => b.close())));

/** A clock and timers the test moves by hand. */
function manualTime(startMs = 1_000_000) {
  let now = startMs;
  const timers: Array<{ atMs: number; callback: () => void; done: boolean }> = [];
  const schedule: Schedule = (callback, delayMs) => {
    const timer = { atMs: now + delayMs, callback, done: false };
    timers.push(timer);
    return () => void (timer.done = true);
  };
  return {
    clock: () => now,
    schedule,
    /** Moves the clock and fires the timers that are due. */
    advance(ms: number): void {
      now += ms;
      for (const timer of timers.filter((t) => !t.done && t.atMs <= now)) {
        timer.done = true;
        timer.callback();
      }
    },
    get pendingTimers(): number {
      return timers.filter((t) => !t.done).length;
    },
  };
}

interface Sent {
  readonly topic: string;
  readonly record: OutgoingRecord;
}

/**
 * An expander over an in-memory store, whose every produce is recorded as it is made (expand resolves only once
 * its records are sent), so a test can assert exactly what an event produced.
 */
async function harness(
  options: {
    threshold?: number;
    windowMs?: number;
    online?: Record<string, string[]> | 'presence-down';
    store?: ChatStore;
  } = {},
) {
  const bus = createMemoryBus();
  buses.push(bus);
  await bus.admin.createTopics(topicSpecs());
  const codec = createLocalCodec();
  const store = options.store ?? createMemoryStore();
  const sent: Sent[] = [];
  const recording: Bus = {
    ...bus,
    producer: {
      send: async (topic, records) => {
        for (const record of records) sent.push({ topic, record });
        return bus.producer.send(topic, records);
      },
    },
  };
  const online = options.online ?? {};
  const presenceLookups: string[][] = [];
  const presence = {
    onlineDevicesOfUsers: async (userIds: readonly string[]) => {
      presenceLookups.push([...userIds]);
      if (online === 'presence-down') throw new Error('ECONNREFUSED 127.0.0.1:16379');
      return new Map(userIds.map((userId) => [userId, online[userId] ?? []]));
    },
  };
  const time = manualTime();
  const broadcast = { threshold: options.threshold ?? 5, pushWindowMs: options.windowMs ?? 10_000 };
  const expander = createEventExpander({
    store,
    codec,
    bus: recording,
    presence,
    broadcast,
    clock: time.clock,
    schedule: time.schedule,
  });
  const decode = async <T>(record: OutgoingRecord): Promise<T> => (await codec.decode<T>(record.value!)).value;
  /** What was sent to one topic since the last call to `take` (then forgotten). */
  const take = async <T>(topic: string): Promise<Array<{ key: string | null; value: T; raw: Buffer }>> => {
    const mine = sent.filter((s) => s.topic === topic);
    for (const s of mine) sent.splice(sent.indexOf(s), 1);
    return Promise.all(
      mine.map(async (s) => ({ key: s.record.key, value: await decode<T>(s.record), raw: s.record.value! })),
    );
  };
  const inboxUsers = async (): Promise<string[]> =>
    (await take<InboxEntry>(TOPICS.userInbox.name)).map((r) => r.value.userId).sort();
  return { bus, codec, store, sent, expander, time, presenceLookups, take, inboxUsers };
}

const origin = (userId: string) => ({
  userId,
  deviceId: `${userId}-phone`,
  gatewayId: 'gw-1',
  requestId: 'r',
  receivedAtMs: 1,
});

const message = (chatId: string, seq: number, from: string): ChatEvent => ({
  chatId,
  seq,
  serverTimeMs: 1_000 + seq,
  origin: origin(from),
  event: {
    'chatmesh.chat.MessageReceived': {
      clientMessageId: `c${seq}`,
      content: { body: `m${seq}`, envelopes: [], attachments: [] },
    },
  },
});

const created = (chatId: string, members: readonly string[]): ChatEvent => ({
  chatId,
  seq: 1,
  serverTimeMs: 1_001,
  origin: origin(members[0]!),
  event: {
    'chatmesh.chat.ChatCreated': {
      kind: 'GROUP',
      members: members.map((userId) => ({ userId, role: 'MEMBER' as const })),
      name: 'group',
      pictureAttachmentId: null,
    },
  },
});

const membersAdded = (chatId: string, seq: number, users: readonly string[]): ChatEvent => ({
  chatId,
  seq,
  serverTimeMs: 1_000 + seq,
  origin: origin('u0'),
  event: { 'chatmesh.chat.MembersAdded': { members: users.map((userId) => ({ userId, role: 'MEMBER' as const })) } },
});

const membersRemoved = (chatId: string, seq: number, users: readonly string[]): ChatEvent => ({
  chatId,
  seq,
  serverTimeMs: 1_000 + seq,
  origin: origin('u0'),
  event: { 'chatmesh.chat.MembersRemoved': { userIds: [...users], reason: 'REMOVED' } },
});

/** A decoded Avro record as plain data (the codec returns class instances). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const users = (count: number, prefix = 'u'): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

async function addMembers(store: ChatStore, chatId: string, userIds: readonly string[], joinedSeq: number) {
  for (const userId of userIds) {
    await store.directory.addMember({ chatId, userId, role: 'member', joinedSeq, removedSeq: null, addedBy: 'u0' });
  }
}

/** A group created with `members` (threshold 5 by default: 5 or more makes it broadcast from seq 2). */
async function createGroup(h: Awaited<ReturnType<typeof harness>>, members: readonly string[]) {
  const chat = randomName('group');
  await addMembers(h.store, chat, members, 1);
  const expansion = await h.expander.expand(created(chat, members));
  return { chat, expansion };
}

describe('broadcast chats', () => {
  test('below the threshold: an inbox entry per member, nothing on chat.broadcast, never marked', async () => {
    const h = await harness({ threshold: 5 });
    const members = users(4);
    const { chat, expansion } = await createGroup(h, members);
    assert.deepEqual(expansion, { recipients: members, broadcast: false, pushed: 0 });
    const sent = await h.expander.expand(message(chat, 2, 'u0'));
    assert.deepEqual(sent, { recipients: members, broadcast: false, pushed: 0 });
    assert.deepEqual(await h.inboxUsers(), [...members, ...members].sort());
    assert.deepEqual(await h.take(TOPICS.chatBroadcast.name), []);
    assert.deepEqual(await h.take(TOPICS.pushRequests.name), []);
    assert.equal(await h.store.broadcastChats.sinceOf(chat), null);
  });

  test('a group created at the threshold: CHAT_CREATED to every inbox, then each message once on chat.broadcast', async () => {
    const h = await harness({ threshold: 5, online: Object.fromEntries(users(5).map((u) => [u, ['phone']])) });
    const members = users(5);
    const { chat, expansion } = await createGroup(h, members);
    assert.deepEqual(expansion, { recipients: members, broadcast: false, pushed: 0 });
    const creation = await h.take<InboxEntry>(TOPICS.userInbox.name);
    assert.deepEqual(
      creation.map((r) => r.key),
      members,
    );
    assert.ok(creation.every((r) => r.value.dedupeKey === `chat/${chat}/1`));
    assert.equal(await h.store.broadcastChats.sinceOf(chat), 2, 'broadcast from the event after the creation');

    // Forwarded as received: ingest's bytes, untouched.
    const event = message(chat, 2, 'u1');
    const raw = await h.codec.encode(valueSubjectOf(TOPICS.chatEvents.name), event);
    assert.deepEqual(await h.expander.expand(event, { value: raw }), { recipients: [], broadcast: true, pushed: 0 });
    const broadcast = await h.take<ChatEvent>(TOPICS.chatBroadcast.name);
    assert.equal(broadcast.length, 1);
    assert.equal(broadcast[0]!.key, chat);
    assert.equal(broadcast[0]!.raw, raw, 'the record bytes themselves are forwarded, not encoded again');
    assert.deepEqual(plain(broadcast[0]!.value), event);
    assert.deepEqual(await h.take(TOPICS.userInbox.name), [], 'no inbox entry for a broadcast message');
    assert.deepEqual(await h.take(TOPICS.pushRequests.name), [], 'everyone is online');

    // Without raw bytes (a direct call) the event is encoded for chat.broadcast.
    await h.expander.expand(message(chat, 3, 'u1'));
    const encoded = await h.take<ChatEvent>(TOPICS.chatBroadcast.name);
    assert.deepEqual(
      encoded.map((r) => [r.key, plain(r.value)]),
      [[chat, message(chat, 3, 'u1')]],
    );
    assert.deepEqual(h.sent, [], 'nothing else was produced');
  });

  test('MEMBERS_ADDED on a broadcast chat: one chat.broadcast record, inbox entries for the added users only', async () => {
    const h = await harness({ threshold: 5 });
    const { chat } = await createGroup(h, users(6));
    await h.take(TOPICS.userInbox.name);
    await addMembers(h.store, chat, ['new-a', 'new-b'], 2);
    const expansion = await h.expander.expand(membersAdded(chat, 2, ['new-a', 'new-b']));
    assert.deepEqual(expansion, { recipients: ['new-a', 'new-b'], broadcast: true, pushed: 0 });
    const inbox = await h.take<InboxEntry>(TOPICS.userInbox.name);
    assert.deepEqual(
      inbox.map((r) => r.key),
      ['new-a', 'new-b'],
    );
    for (const { value } of inbox) {
      assert.ok('chatmesh.inbox.ChatEventRef' in value.item);
      const ref = value.item['chatmesh.inbox.ChatEventRef'];
      assert.equal(ref.kind, 'MEMBERS_ADDED');
      assert.equal(ref.chatSeq, 2);
      assert.deepEqual(ref.affectedUserIds, ['new-a', 'new-b']);
    }
    assert.deepEqual(
      (await h.take<ChatEvent>(TOPICS.chatBroadcast.name)).map((r) => [r.key, r.value.seq]),
      [[chat, 2]],
    );
    assert.deepEqual(h.sent, []);
  });

  test('MEMBERS_REMOVED on a broadcast chat: one chat.broadcast record, inbox entries for the removed users only', async () => {
    const h = await harness({ threshold: 5 });
    const { chat } = await createGroup(h, users(7));
    await h.take(TOPICS.userInbox.name);
    await h.store.directory.removeMember(chat, 'u5', 2);
    await h.store.directory.removeMember(chat, 'u6', 2);
    const expansion = await h.expander.expand(membersRemoved(chat, 2, ['u5', 'u6']));
    assert.deepEqual(expansion, { recipients: ['u5', 'u6'], broadcast: true, pushed: 0 });
    const inbox = await h.take<InboxEntry>(TOPICS.userInbox.name);
    assert.deepEqual(
      inbox.map((r) => r.key),
      ['u5', 'u6'],
    );
    assert.ok(
      inbox.every(
        (r) =>
          'chatmesh.inbox.ChatEventRef' in r.value.item &&
          r.value.item['chatmesh.inbox.ChatEventRef'].kind === 'MEMBERS_REMOVED',
      ),
    );
    assert.deepEqual(
      (await h.take<ChatEvent>(TOPICS.chatBroadcast.name)).map((r) => [r.key, r.value.seq]),
      [[chat, 2]],
    );
    assert.deepEqual(h.sent, []);
  });

  test('a chat growing across the threshold: the add that crosses it reaches every inbox, the next event is broadcast', async () => {
    const h = await harness({ threshold: 5 });
    const { chat } = await createGroup(h, users(3));
    assert.equal(await h.store.broadcastChats.sinceOf(chat), null);
    await h.take(TOPICS.userInbox.name);
    await addMembers(h.store, chat, ['u3', 'u4'], 2);
    const crossing = await h.expander.expand(membersAdded(chat, 2, ['u3', 'u4']));
    assert.deepEqual(crossing, { recipients: users(5), broadcast: false, pushed: 0 });
    assert.deepEqual(await h.inboxUsers(), users(5));
    assert.deepEqual(await h.take(TOPICS.chatBroadcast.name), []);
    assert.equal(await h.store.broadcastChats.sinceOf(chat), 3, 'marked since S + 1');
    const next = await h.expander.expand(message(chat, 3, 'u0'));
    assert.equal(next.broadcast, true);
    assert.deepEqual(await h.inboxUsers(), []);
    assert.deepEqual(
      (await h.take<ChatEvent>(TOPICS.chatBroadcast.name)).map((r) => r.value.seq),
      [3],
    );
  });

  test('sticky: a broadcast chat stays broadcast below the threshold, in this process and in a new one', async () => {
    const store = createMemoryStore();
    const h = await harness({ threshold: 5, store });
    const { chat } = await createGroup(h, users(5));
    const leaving = ['u1', 'u2', 'u3', 'u4'];
    for (const userId of leaving) await h.store.directory.removeMember(chat, userId, 2);
    assert.equal((await h.expander.expand(membersRemoved(chat, 2, leaving))).broadcast, true);
    await h.take(TOPICS.userInbox.name);
    await h.take(TOPICS.chatBroadcast.name);
    assert.deepEqual(await h.expander.expand(message(chat, 3, 'u0')), { recipients: [], broadcast: true, pushed: 0 });
    assert.deepEqual(
      (await h.take<ChatEvent>(TOPICS.chatBroadcast.name)).map((r) => r.value.seq),
      [3],
    );
    // Another process (a new owner of the partition) reads the mark from the store.
    const other = await harness({ threshold: 5, store });
    assert.deepEqual(await other.expander.expand(message(chat, 4, 'u0'), { assignmentId: 'a9' }), {
      recipients: [],
      broadcast: true,
      pushed: 0,
    });
    assert.deepEqual(await other.inboxUsers(), []);
    assert.equal(await store.broadcastChats.sinceOf(chat), 2, 'the first mark stays');
  });

  test('replays: a broadcast event produced again (gateways drop it by seq), an event before since goes to the inboxes again', async () => {
    const h = await harness({ threshold: 5 });
    const members = users(5);
    const { chat } = await createGroup(h, members);
    await h.take(TOPICS.userInbox.name);
    await h.expander.expand(message(chat, 2, 'u0'));
    await h.expander.expand(message(chat, 3, 'u0'));
    await h.expander.expand(message(chat, 2, 'u0')); // a duplicate emission
    assert.deepEqual(
      (await h.take<ChatEvent>(TOPICS.chatBroadcast.name)).map((r) => r.value.seq),
      [2, 3, 2],
    );
    const replayedCreation = await h.expander.expand(created(chat, members));
    assert.deepEqual(replayedCreation, { recipients: members, broadcast: false, pushed: 0 });
    const inbox = await h.take<InboxEntry>(TOPICS.userInbox.name);
    assert.deepEqual(
      inbox.map((r) => [r.key, r.value.dedupeKey]),
      members.map((userId) => [userId, `chat/${chat}/1`]),
      'the same dedupe keys as the first time: the sequencer stores nothing twice',
    );
    assert.deepEqual(await h.take(TOPICS.chatBroadcast.name), []);
    assert.equal(await h.store.broadcastChats.sinceOf(chat), 2);
  });

  test('"not broadcast" is believed for one assignment only: a new assignment reads the mark another owner made', async () => {
    const h = await harness({ threshold: 5 });
    const { chat } = await createGroup(h, users(3));
    let reads = 0;
    const sinceOf = h.store.broadcastChats.sinceOf.bind(h.store.broadcastChats);
    h.store.broadcastChats.sinceOf = async (chatId) => {
      reads++;
      return sinceOf(chatId);
    };
    assert.equal((await h.expander.expand(message(chat, 2, 'u0'), { assignmentId: 'a1' })).broadcast, false);
    assert.equal(reads, 1);
    // Another owner (a member of the group that had the partition meanwhile) marks the chat.
    assert.equal(await h.store.broadcastChats.mark(chat, 3), 3);
    assert.equal((await h.expander.expand(message(chat, 3, 'u0'), { assignmentId: 'a1' })).broadcast, false);
    assert.equal(reads, 1, 'the same assignment trusts its cached answer');
    await h.take(TOPICS.userInbox.name);
    const expansion = await h.expander.expand(message(chat, 4, 'u0'), { assignmentId: 'a2' });
    assert.deepEqual(expansion, { recipients: [], broadcast: true, pushed: 2 }, 'u1 and u2 are offline');
    assert.equal(reads, 2, 'a new assignment reads the store again');
    assert.deepEqual(await h.inboxUsers(), []);
    assert.deepEqual(
      (await h.take<ChatEvent>(TOPICS.chatBroadcast.name)).map((r) => r.value.seq),
      [4],
    );
    await h.expander.expand(message(chat, 5, 'u0'), { assignmentId: 'a3' });
    assert.equal(reads, 2, 'a broadcast chat is never read again');
  });

  test('push: offline members get one coalesced PushRequest per window; online members and the sender none', async () => {
    // u0 sends (offline, but never woken by their own messages), u1 and u2 are online, u3 and u4 offline.
    const h = await harness({ threshold: 5, windowMs: 10_000, online: { u1: ['phone'], u2: ['laptop'] } });
    const { chat } = await createGroup(h, users(5));
    await h.take(TOPICS.userInbox.name);
    const pushes = async () =>
      (await h.take<PushRequest>(TOPICS.pushRequests.name)).map(({ key, value }) => ({ key, ...value }));
    const expected = (seq: number, count: number, createdAtMs: number) =>
      ['u3', 'u4'].map((userId) => ({
        key: userId,
        userId,
        requestId: `${userId}/chat/${chat}/${seq}`,
        chatId: chat,
        unreadCount: count,
        newMessageCount: count,
        upToInboxSeq: null,
        targets: [],
        createdAtMs,
      }));
    const t0 = h.time.clock();

    // The first message of a quiet chat is scanned at once.
    assert.equal((await h.expander.expand(message(chat, 2, 'u0'))).pushed, 2);
    assert.deepEqual(await pushes(), expected(2, 1, t0));
    assert.deepEqual(h.presenceLookups, [['u1', 'u2', 'u3', 'u4']], 'the sender is not looked up');

    // Three more inside the window: counted, not scanned.
    for (const seq of [3, 4, 5]) {
      h.time.advance(1_000);
      assert.equal((await h.expander.expand(message(chat, seq, 'u0'))).pushed, 0);
    }
    assert.deepEqual(await pushes(), []);
    assert.equal(h.time.pendingTimers, 1, 'one timer for the chat');

    // The window ends: one push per offline member for the three, with the newest seq.
    h.time.advance(6_999);
    assert.deepEqual(await pushes(), []);
    h.time.advance(1);
    await waitFor(() => h.sent.filter((s) => s.topic === TOPICS.pushRequests.name).length === 2, {
      description: 'the window-end pushes',
    });
    assert.deepEqual(await pushes(), expected(5, 3, t0 + 10_000));
    assert.equal(h.time.pendingTimers, 0);

    // A message right after that scan waits for its window; one after a quiet window is scanned at once.
    h.time.advance(15_000);
    assert.equal((await h.expander.expand(message(chat, 6, 'u0'))).pushed, 2);
    assert.deepEqual(await pushes(), expected(6, 1, t0 + 25_000));
    assert.equal(h.presenceLookups.length, 3);
    assert.deepEqual(await h.take(TOPICS.userInbox.name), []);
    await h.expander.stop();
  });

  test('push window 0: every broadcast message scans; a presence outage wakes every member but the sender', async () => {
    const h = await harness({ threshold: 5, windowMs: 0, online: 'presence-down' });
    const { chat } = await createGroup(h, users(5));
    for (const seq of [2, 3]) {
      assert.equal((await h.expander.expand(message(chat, seq, 'u0'))).pushed, 4);
    }
    assert.deepEqual(
      (await h.take<PushRequest>(TOPICS.pushRequests.name)).map((r) => [r.value.requestId, r.value.unreadCount]),
      ['u1', 'u2', 'u3', 'u4']
        .map((u) => [`${u}/chat/${chat}/2`, 1])
        .concat(['u1', 'u2', 'u3', 'u4'].map((u) => [`${u}/chat/${chat}/3`, 1])),
    );
    assert.equal(h.time.pendingTimers, 0);
    assert.equal(h.expander.broadcastPushes, 8);
  });

  test('only messages push: membership events of a broadcast chat scan nobody', async () => {
    const h = await harness({ threshold: 5, windowMs: 0 });
    const { chat } = await createGroup(h, users(5));
    await addMembers(h.store, chat, ['u5'], 2);
    await h.expander.expand(membersAdded(chat, 2, ['u5']));
    assert.deepEqual(await h.take(TOPICS.pushRequests.name), []);
    assert.deepEqual(h.presenceLookups, []);
  });

  test('stop() sends what a pending window holds and leaves no timer', async () => {
    const h = await harness({ threshold: 5, windowMs: 10_000 });
    const { chat } = await createGroup(h, users(5));
    await h.expander.expand(message(chat, 2, 'u0'));
    await h.expander.expand(message(chat, 3, 'u0'));
    await h.expander.expand(message(chat, 4, 'u0'));
    assert.deepEqual(
      (await h.take<PushRequest>(TOPICS.pushRequests.name)).map((r) => r.value.requestId),
      ['u1', 'u2', 'u3', 'u4'].map((u) => `${u}/chat/${chat}/2`),
    );
    assert.equal(h.time.pendingTimers, 1);
    await h.expander.stop();
    assert.equal(h.time.pendingTimers, 0);
    assert.deepEqual(
      (await h.take<PushRequest>(TOPICS.pushRequests.name)).map((r) => [r.value.requestId, r.value.unreadCount]),
      ['u1', 'u2', 'u3', 'u4'].map((u) => [`${u}/chat/${chat}/4`, 2]),
    );
  });

  test('threshold 0 makes no new broadcast chat, and a chat marked before stays broadcast', async () => {
    const store = createMemoryStore();
    const markBefore = store.broadcastChats.mark.bind(store.broadcastChats);
    store.broadcastChats.mark = async () => assert.fail('no mark with threshold 0');
    const h = await harness({ threshold: 0, store });
    const members = users(150);
    const { chat, expansion } = await createGroup(h, members);
    assert.equal(expansion.broadcast, false);
    assert.deepEqual(await h.expander.expand(message(chat, 2, 'u0')), {
      recipients: members,
      broadcast: false,
      pushed: 0,
    });
    assert.equal((await h.take(TOPICS.userInbox.name)).length, 300);
    assert.deepEqual(await h.take(TOPICS.chatBroadcast.name), []);
    assert.deepEqual(await h.take(TOPICS.pushRequests.name), []);

    const marked = randomName('group');
    await addMembers(store, marked, users(150), 1);
    await markBefore(marked, 2); // as an earlier fan-out with a threshold did
    assert.equal(await store.broadcastChats.sinceOf(marked), 2, 'marked while the threshold was set');
    const later = await h.expander.expand(message(marked, 2, 'u0'), { assignmentId: 'a2' });
    assert.equal(later.broadcast, true, 'sticky with the threshold at 0');
    assert.equal((await h.take(TOPICS.chatBroadcast.name)).length, 1);
  });

  test('a failed mark throws (the subscription retries the record) and produces nothing', async () => {
    const store = createMemoryStore();
    const mark = store.broadcastChats.mark.bind(store.broadcastChats);
    let failures = 1;
    store.broadcastChats.mark = async (chatId, sinceSeq) => {
      if (failures-- > 0) throw new Error('NoHostAvailableError');
      return mark(chatId, sinceSeq);
    };
    const h = await harness({ threshold: 5, store });
    const chat = randomName('group');
    await addMembers(store, chat, users(5), 1);
    await assert.rejects(h.expander.expand(created(chat, users(5))), /NoHostAvailableError/);
    assert.deepEqual(h.sent, []);
    assert.deepEqual((await h.expander.expand(created(chat, users(5)))).recipients, users(5));
    assert.equal(await store.broadcastChats.sinceOf(chat), 2);
  });
});
