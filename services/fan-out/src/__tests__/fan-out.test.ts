import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createMemoryBus, type Bus } from '@chatmesh/bus';
import { createLogger } from '@chatmesh/logging';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  topicSpecs,
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type GatewayDelivery,
  type InboxEntry,
  type PushRequest,
} from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { createEventExpander } from '../event-expander.js';
import { createInboxSequencer, type DeviceLocator } from '../inbox-sequencer.js';

const GATEWAY = 'gw-fan';
const buses: Bus[] = [];
after(async () => Promise.all(buses.map((b) => b.close())));

async function harness(online: Record<string, string[]> | 'presence-down' = {}, broadcastThreshold = 100) {
  const bus = createMemoryBus();
  buses.push(bus);
  const codec = createLocalCodec();
  await bus.admin.createTopics(topicSpecs({ gatewayIds: [GATEWAY] }));
  const store: ChatStore = createMemoryStore();
  const logger = createLogger({ service: 'fan-out-test', level: 'silent' });
  const devices: DeviceLocator = {
    onlineDevices: async (userId) => {
      if (online === 'presence-down') throw new Error('ECONNREFUSED 127.0.0.1:16379');
      return (online[userId] ?? []).map((deviceId) => ({ deviceId, gatewayId: GATEWAY }));
    },
  };
  const presence = {
    onlineDevicesOfUsers: async (userIds: readonly string[]) =>
      new Map(await Promise.all(userIds.map(async (userId) => [userId, await devices.onlineDevices(userId)] as const))),
  };
  const broadcast = { threshold: broadcastThreshold, pushWindowMs: 10_000 };
  const expander = createEventExpander({ store, codec, bus, presence, broadcast });
  const sequencer = createInboxSequencer({ store, codec, bus, devices, logger });
  const inbox: InboxEntry[] = [];
  const deliveries: GatewayDelivery[] = [];
  const pushes: PushRequest[] = [];
  const collect = async <T>(topic: string, into: T[]): Promise<void> => {
    await bus.subscribe({
      groupId: randomName('collector'),
      topics: [topic],
      handler: async (record) => void into.push((await codec.decode<T>(record.value!)).value),
      deadLetter: { encode: async () => Buffer.alloc(0) },
    });
  };
  await collect(TOPICS.userInbox.name, inbox);
  await collect(gatewayDeliveriesTopic(GATEWAY).name, deliveries);
  await collect(TOPICS.pushRequests.name, pushes);
  /** Stores the event in the chat log as ingest would, so deliveries can read the body. */
  const storeEvent = async (event: ChatEvent): Promise<void> => {
    const payload = await codec.encode(valueSubjectOf(TOPICS.chatEvents.name), event);
    await store.chatLog.insertIfAbsent({
      streamId: event.chatId,
      seq: event.seq,
      idempotencyKey: `k${event.seq}`,
      kind: 'message',
      payload,
      createdAtMs: event.serverTimeMs,
    });
  };
  return { bus, codec, store, presence, broadcast, expander, sequencer, inbox, deliveries, pushes, storeEvent };
}

const origin = (userId: string) => ({
  userId,
  deviceId: `${userId}-phone`,
  gatewayId: GATEWAY,
  requestId: 'r',
  receivedAtMs: 1,
});
const message = (chatId: string, seq: number, from: string, body = `m${seq}`): ChatEvent => ({
  chatId,
  seq,
  serverTimeMs: 1_000 + seq,
  origin: origin(from),
  event: {
    'chatmesh.chat.MessageReceived': { clientMessageId: `c${seq}`, content: { body, envelopes: [], attachments: [] } },
  },
});

async function addMembers(store: ChatStore, chatId: string, users: string[], joinedSeq: number): Promise<void> {
  for (const userId of users) {
    await store.directory.addMember({ chatId, userId, role: 'member', joinedSeq, removedSeq: null, addedBy: 'test' });
  }
}

describe('fan-out', () => {
  test('one entry per member, each inbox in chat order without gaps; replays add nothing', async () => {
    const h = await harness();
    const chat = randomName('chat');
    await addMembers(h.store, chat, ['alice', 'bob', 'carol'], 1);
    for (let seq = 2; seq <= 6; seq++) {
      const { recipients, broadcast } = await h.expander.expand(message(chat, seq, 'alice'));
      assert.deepEqual([...recipients].sort(), ['alice', 'bob', 'carol']);
      assert.equal(broadcast, false);
    }
    await h.expander.expand(message(chat, 3, 'alice')); // a replayed event
    await waitFor(() => h.inbox.length === 18, { description: 'inbox records' });
    for (const entry of h.inbox) await h.sequencer.sequence(entry);
    for (const user of ['alice', 'bob', 'carol']) {
      const rows = await h.store.inboxLog.readAfter(user, 0, 100);
      const chatSeqs = await Promise.all(
        rows.map(async (r) => {
          const item = (await h.codec.decode<InboxEntry>(r.payload)).value.item;
          return 'chatmesh.inbox.ChatEventRef' in item ? item['chatmesh.inbox.ChatEventRef'].chatSeq : -1;
        }),
      );
      assert.deepEqual(
        rows.map((r) => r.seq),
        [1, 2, 3, 4, 5],
        `${user}: inbox seqs gap-free, no duplicate`,
      );
      assert.deepEqual(chatSeqs, [2, 3, 4, 5, 6], `${user}: chat order kept`);
    }
  });

  test('a removed member gets the removal and nothing after it; non-members get nothing', async () => {
    const h = await harness();
    const chat = randomName('chat');
    await addMembers(h.store, chat, ['alice', 'bob'], 1);
    await h.store.directory.removeMember(chat, 'bob', 3);
    const removal: ChatEvent = {
      chatId: chat,
      seq: 3,
      serverTimeMs: 3,
      origin: origin('alice'),
      event: { 'chatmesh.chat.MembersRemoved': { userIds: ['bob'], reason: 'REMOVED' } },
    };
    assert.deepEqual((await h.expander.expand(message(chat, 2, 'alice'))).recipients.sort(), ['alice', 'bob']);
    assert.deepEqual((await h.expander.expand(removal)).recipients.sort(), ['alice', 'bob']);
    assert.deepEqual((await h.expander.expand(message(chat, 4, 'alice'))).recipients, ['alice']);
    await waitFor(() => h.inbox.length === 5, { description: 'inbox records' });
    assert.deepEqual(
      h.inbox.filter((e) => e.userId === 'bob').map((e) => e.dedupeKey),
      [`chat/${chat}/2`, `chat/${chat}/3`],
    );
    assert.ok(h.inbox.every((e) => ['alice', 'bob'].includes(e.userId)));
  });

  test('online devices get the body (and only their own ciphertext); offline users get a push without content', async () => {
    const h = await harness({ alice: ['alice-phone', 'alice-laptop'] });
    const chat = randomName('chat');
    await addMembers(h.store, chat, ['alice', 'bob'], 1);
    const e2e: ChatEvent = {
      ...message(chat, 2, 'bob', 'ignored'),
      event: {
        'chatmesh.chat.MessageReceived': {
          clientMessageId: 'c2',
          content: {
            body: null,
            attachments: [],
            envelopes: [
              {
                recipientUserId: 'alice',
                recipientDeviceId: 'alice-phone',
                ciphertext: Buffer.from('for-phone'),
                envelopeType: 1,
              },
              {
                recipientUserId: 'alice',
                recipientDeviceId: 'alice-laptop',
                ciphertext: Buffer.from('for-laptop'),
                envelopeType: 1,
              },
            ],
          },
        },
      },
    };
    await h.storeEvent(e2e);
    await h.expander.expand(e2e);
    await waitFor(() => h.inbox.length === 2, { description: 'inbox records' });
    const outcomes = await Promise.all(h.inbox.map((entry) => h.sequencer.sequence(entry)));
    assert.deepEqual(outcomes.map((o) => o.deliveredTo.length).sort(), [0, 2]);
    await waitFor(() => h.deliveries.length === 2, { description: 'deliveries' });
    for (const delivery of h.deliveries) {
      assert.ok('chatmesh.gateway.InboxDelivery' in delivery.payload);
      const envelopes = delivery.payload['chatmesh.gateway.InboxDelivery'].content!.envelopes;
      assert.equal(envelopes.length, 1);
      assert.equal(envelopes[0]!.recipientDeviceId, delivery.deviceId);
    }
    // bob is offline but he sent it: no push for his own message.
    assert.equal(h.pushes.length, 0);
    const fromAlice = message(chat, 3, 'alice');
    await h.storeEvent(fromAlice);
    await h.expander.expand(fromAlice);
    await waitFor(() => h.inbox.length === 4, { description: 'inbox records' });
    for (const entry of h.inbox.slice(2)) await h.sequencer.sequence(entry);
    await waitFor(() => h.pushes.length === 1, { description: 'a push for bob' });
    assert.equal(h.pushes[0]!.userId, 'bob');
    assert.equal(h.pushes[0]!.newMessageCount, 1);
    assert.equal(JSON.stringify(h.pushes[0]).includes('m3'), false, 'no message content in a push');
  });

  test('a batch of one user: appended gap-free in order, replays adopted, each device gets the batch in inbox order, offline users a push per entry', async () => {
    const h = await harness({ alice: ['alice-phone', 'alice-laptop'] });
    const chat = randomName('chat');
    await addMembers(h.store, chat, ['alice', 'bob', 'carol'], 1);
    for (let seq = 2; seq <= 6; seq++) {
      const event = message(chat, seq, seq % 2 === 0 ? 'carol' : 'alice');
      await h.storeEvent(event);
      await h.expander.expand(event);
    }
    await waitFor(() => h.inbox.length === 15, { description: 'inbox records' });
    const of = (user: string) => h.inbox.filter((entry) => entry.userId === user);
    // alice's first entry was sequenced alone before; her batch repeats it (a redelivery) and adds the rest.
    await h.sequencer.sequence(of('alice')[0]!);
    const alice = await h.sequencer.sequenceBatch([...of('alice'), of('alice')[1]!]);
    assert.deepEqual(
      alice.map((o) => [o.inboxSeq, o.created, o.deliveredTo.length]),
      [
        [1, false, 2],
        [2, true, 2],
        [3, true, 2],
        [4, true, 2],
        [5, true, 2],
        [2, false, 2],
      ],
    );
    const bob = await h.sequencer.sequenceBatch(of('bob'));
    assert.deepEqual(
      bob.map((o) => [o.inboxSeq, o.pushed]),
      [
        [1, true],
        [2, true],
        [3, true],
        [4, true],
        [5, true],
      ],
    );
    assert.deepEqual(
      (await h.store.inboxLog.readAfter('alice', 0, 10)).map((r) => r.seq),
      [1, 2, 3, 4, 5],
      'no duplicate row',
    );
    await waitFor(() => h.deliveries.length === 2 + 12, { description: 'deliveries' });
    for (const device of ['alice-phone', 'alice-laptop']) {
      const seen = h.deliveries
        .filter((d) => d.deviceId === device)
        .map((d) => {
          assert.ok('chatmesh.gateway.InboxDelivery' in d.payload);
          const delivery = d.payload['chatmesh.gateway.InboxDelivery'];
          return [delivery.entry.inboxSeq, delivery.content?.body];
        });
      assert.deepEqual(
        seen,
        [
          [1, 'm2'],
          [1, 'm2'],
          [2, 'm3'],
          [3, 'm4'],
          [4, 'm5'],
          [5, 'm6'],
          [2, 'm3'],
        ],
        `${device}: in inbox order, with the bodies`,
      );
    }
    await waitFor(() => h.pushes.length === 5, { description: 'pushes for bob' });
    assert.deepEqual(
      h.pushes.map((p) => [p.upToInboxSeq, p.unreadCount]),
      [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    );
  });

  test('broadcast disabled (threshold 0): a 1,024-member group gets one inbox entry per member', async () => {
    const h = await harness({}, 0);
    const chat = randomName('big');
    const users = Array.from({ length: 1024 }, (_, i) => `user-${i}`);
    await addMembers(h.store, chat, users, 1);
    const { recipients, broadcast } = await h.expander.expand(message(chat, 2, 'user-0'));
    assert.equal(recipients.length, 1024);
    assert.equal(broadcast, false);
    assert.equal(await h.store.broadcastChats.sinceOf(chat), null, 'never marked');
    await waitFor(() => h.inbox.length === 1024, { description: '1,024 inbox records' });
    assert.equal(new Set(h.inbox.map((e) => e.userId)).size, 1024);
  });

  test('a 1,024-member creation and a mass add fit Kafka requests: no member list copied per row, producer calls bounded in bytes', async () => {
    const h = await harness();
    const sentBytes: number[] = [];
    const measured: Bus = {
      ...h.bus,
      producer: {
        send: async (topic, records) => {
          sentBytes.push(records.reduce((sum, r) => sum + (r.value?.length ?? 0), 0));
          return h.bus.producer.send(topic, records);
        },
      },
    };
    const expander = createEventExpander({
      store: h.store,
      codec: h.codec,
      bus: measured,
      presence: h.presence,
      broadcast: h.broadcast,
    });
    const chat = randomName('big');
    const users = Array.from({ length: 1024 }, (_, i) => `user-with-a-longish-id-${i}`);
    await addMembers(h.store, chat, users.slice(0, 24), 1);
    await expander.expand({
      chatId: chat,
      seq: 1,
      serverTimeMs: 1_001,
      origin: origin(users[0]!),
      event: {
        'chatmesh.chat.ChatCreated': {
          kind: 'GROUP',
          members: users.slice(0, 24).map((userId) => ({ userId, role: 'MEMBER' as const })),
          name: 'big',
          pictureAttachmentId: null,
        },
      },
    });
    await addMembers(h.store, chat, users.slice(24), 2);
    const added = await expander.expand({
      chatId: chat,
      seq: 2,
      serverTimeMs: 1_002,
      origin: origin(users[0]!),
      event: {
        'chatmesh.chat.MembersAdded': {
          members: users.slice(24).map((userId) => ({ userId, role: 'MEMBER' as const })),
        },
      },
    });
    // The add that makes the group big still goes to every inbox; the chat is broadcast from the next event.
    assert.equal(added.recipients.length, 1024);
    assert.equal(added.broadcast, false);
    assert.equal(await h.store.broadcastChats.sinceOf(chat), 3);
    await waitFor(() => h.inbox.length === 24 + 1024, { description: 'every entry produced' });
    const refs = h.inbox.map((e) =>
      'chatmesh.inbox.ChatEventRef' in e.item ? e.item['chatmesh.inbox.ChatEventRef'] : null,
    );
    assert.ok(refs.filter((r) => r?.kind === 'CHAT_CREATED').every((r) => r?.affectedUserIds.length === 0));
    assert.ok(refs.filter((r) => r?.kind === 'MEMBERS_ADDED').every((r) => r?.affectedUserIds.length === 1000));
    assert.ok(Math.max(...sentBytes) <= 512 * 1024, `largest producer call ${Math.max(...sentBytes)} bytes`);
  });

  test('a presence outage still stores the entry and wakes the user by push', async () => {
    const h = await harness('presence-down');
    const chat = randomName('chat');
    await addMembers(h.store, chat, ['alice', 'bob'], 1);
    const event = message(chat, 2, 'alice');
    await h.storeEvent(event);
    await h.expander.expand(event);
    await waitFor(() => h.inbox.length === 2, { description: 'inbox records' });
    const outcomes = await Promise.all(h.inbox.map((entry) => h.sequencer.sequence(entry)));
    assert.deepEqual(
      outcomes.map((o) => o.created),
      [true, true],
    );
    await waitFor(() => h.pushes.length === 1, { description: 'a push for bob' });
    assert.equal(h.pushes[0]!.userId, 'bob');
  });
});
