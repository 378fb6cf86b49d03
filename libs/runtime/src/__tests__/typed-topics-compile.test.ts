/**
 * The typed-topic map at compile time. Each `@ts-expect-error` below is a proof: `check-types` fails if the line
 * after it ever compiles (an unused `@ts-expect-error` is itself an error), so a wrong record for a topic, a wrong
 * handler type, a topic outside the table, or an unhandled union branch cannot slip back in. The run-time halves
 * show what the codec and the union helpers do with the same mistakes when types are bypassed.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createMemoryBus, type Bus } from '@chatmesh/bus';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  matchBranch,
  TOPICS,
  topicSpecs,
  type ChatEvent,
  type ChatEventEvent,
  type InboxEntry,
} from '@chatmesh/schemas';
import { createTypedTopics } from '../index.js';
import { uniqueName } from './helpers.js';

const buses: Bus[] = [];
after(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
});

async function setup() {
  const bus = createMemoryBus();
  buses.push(bus);
  await bus.admin.createTopics(topicSpecs());
  return createTypedTopics({ bus, codec: createLocalCodec() });
}

const origin = {
  userId: 'alice',
  deviceId: 'phone',
  gatewayId: 'g1',
  requestId: 'r1',
  receivedAtMs: 1,
};

const event: ChatEvent = {
  chatId: 'chat-1',
  seq: 1,
  serverTimeMs: 1,
  origin,
  event: { 'chatmesh.chat.MembersRemoved': { userIds: ['bob'], reason: 'LEFT' } },
};

const inboxEntry: InboxEntry = {
  userId: 'bob',
  inboxSeq: null,
  dedupeKey: 'read:chat-1:1',
  chatId: 'chat-1',
  createdAtMs: 1,
  item: { 'chatmesh.inbox.ReadPointerUpdate': { upToSeq: 1, byDeviceId: 'phone' } },
};

test('a record of the right type for a topic compiles and is sent', async () => {
  const typed = await setup();
  const metadata = await typed.send(TOPICS.chatEvents.name, event.chatId, event);
  assert.equal(metadata.topic, 'chat.events');
});

test('a record of the wrong type for a topic fails tsc, and the codec refuses it if the types are bypassed', async () => {
  const typed = await setup();
  await assert.rejects(
    // @ts-expect-error chat.events carries ChatEvent records, not InboxEntry.
    typed.send(TOPICS.chatEvents.name, inboxEntry.userId, inboxEntry),
    { code: 'CM_ERR_SCHEMA_ENCODE' },
  );
  await assert.rejects(
    // @ts-expect-error a gateway's delivery topic carries GatewayDelivery records.
    typed.send(gatewayDeliveriesTopic('g1').name, 'bob', event),
    { code: 'CM_ERR_SCHEMA_ENCODE' },
  );
});

test('a topic outside the table, or a handler of the wrong record type, fails tsc', async () => {
  const typed = await setup();
  // @ts-expect-error 'chat.event' (singular) is not a topic of the table.
  await assert.rejects(typed.send('chat.event', 'chat-1', event));
  const subscription = await typed.subscribe({
    groupId: uniqueName('test-compile'),
    topics: [TOPICS.userInbox.name],
    // @ts-expect-error user.inbox delivers InboxEntry records, so a ChatEvent handler does not fit.
    handler: async (_value: ChatEvent) => {},
  });
  await subscription.stop();
});

test('matchBranch needs a handler per branch: a missing one fails tsc and throws if the types are bypassed', () => {
  const describe = (body: ChatEventEvent): string =>
    // @ts-expect-error MembersRemoved has no handler.
    matchBranch(body, {
      'chatmesh.chat.MessageReceived': () => 'message',
      'chatmesh.chat.ChatCreated': () => 'created',
      'chatmesh.chat.ChatUpdated': () => 'updated',
      'chatmesh.chat.MembersAdded': () => 'added',
    });
  assert.throws(() => describe(event.event), { code: 'CM_ERR_SCHEMA_UNION_BRANCH' });
  assert.equal(
    describe({ 'chatmesh.chat.ChatUpdated': { name: 'x', pictureAttachmentId: null, pictureCleared: false } }),
    'updated',
  );
});
