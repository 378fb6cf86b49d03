import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createMemoryBus, type Bus } from '@chatmesh/bus';
import { createLogger } from '@chatmesh/logging';
import { directChatId } from '@chatmesh/protocol';
import { createTypedProducer, createTypedSink } from '@chatmesh/runtime';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  topicSpecs,
  TOPICS,
  type ChatCommand,
  type ChatEvent,
  type CommandResult,
  type GatewayDelivery,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { createCommandProcessor, type CommandProcessor } from '../command-processor.js';

const GATEWAY = 'gw-test';
const buses: Bus[] = [];
after(async () => Promise.all(buses.map((b) => b.close())));

interface Harness {
  bus: Bus;
  store: ChatStore;
  processor: CommandProcessor;
  events: ChatEvent[];
  results: CommandResult[];
  codec: SchemaCodec;
}

async function harness(options: { sendBurst?: number } = {}): Promise<Harness> {
  const bus = createMemoryBus();
  buses.push(bus);
  const codec = createLocalCodec();
  await bus.admin.createTopics(topicSpecs({ gatewayIds: [GATEWAY] }));
  const store = createMemoryStore();
  const logger = createLogger({ service: 'ingest-test', level: 'silent' });
  const processor = createCommandProcessor(
    { store, codec, bus, typed: createTypedProducer(bus, codec), logger },
    { sendBurst: options.sendBurst ?? 1000, sendRatePerSecond: 1 },
  );
  const events: ChatEvent[] = [];
  const results: CommandResult[] = [];
  const sink = async (topic: string, push: (bytes: Buffer) => Promise<void>): Promise<void> => {
    await bus.subscribe({
      groupId: randomName('collector'),
      topics: [topic],
      handler: async (record) => push(record.value!),
      deadLetter: { encode: async () => Buffer.alloc(0) },
    });
  };
  await sink(TOPICS.chatEvents.name, async (bytes) => void events.push((await codec.decode<ChatEvent>(bytes)).value));
  await sink(gatewayDeliveriesTopic(GATEWAY).name, async (bytes) => {
    const delivery = (await codec.decode<GatewayDelivery>(bytes)).value;
    if ('chatmesh.gateway.CommandResult' in delivery.payload)
      results.push(delivery.payload['chatmesh.gateway.CommandResult']);
  });
  return { bus, store, processor, events, results, codec };
}

let request = 0;
function command(chatId: string, userId: string, body: ChatCommand['command']): ChatCommand {
  request++;
  return {
    chatId,
    origin: { userId, deviceId: `${userId}-phone`, gatewayId: GATEWAY, requestId: `r${request}`, receivedAtMs: 1 },
    command: body,
    traceparent: null,
  };
}
const createGroup = (chatId: string, creator: string, members: string[]): ChatCommand =>
  command(chatId, creator, {
    'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: members, name: 'Team', pictureAttachmentId: null },
  });
const send = (chatId: string, userId: string, clientMessageId: string, body = 'hello'): ChatCommand =>
  command(chatId, userId, {
    'chatmesh.chat.SendMessage': { clientMessageId, content: { body, envelopes: [], attachments: [] } },
  });

describe('ingest command processor', () => {
  test('a group is created at seq 1 with its creator as admin; a send gets the next seq, stored once and emitted', async () => {
    const h = await harness();
    const chat = randomName('chat');
    const created = await h.processor.process(createGroup(chat, 'alice', ['bob', 'carol']));
    assert.deepEqual(created.accepted && created.seq, 1);
    const sent = await h.processor.process(send(chat, 'bob', 'm-1'));
    assert.equal(sent.accepted && sent.seq, 2);
    assert.deepEqual(
      (await h.store.chatLog.readAfter(chat, 0, 10)).map((e) => e.kind),
      ['chat_created', 'message'],
    );
    const members = await h.store.directory.currentMembers(chat);
    assert.deepEqual(members.map((m) => [m.userId, m.role]).sort(), [
      ['alice', 'admin'],
      ['bob', 'member'],
      ['carol', 'member'],
    ]);
    await waitFor(() => h.events.length === 2 && h.results.length === 2, { description: 'events and answers' });
    assert.deepEqual(
      h.events.map((e) => e.seq),
      [1, 2],
    );
    const message = h.events[1]!.event;
    assert.ok('chatmesh.chat.MessageReceived' in message);
    assert.equal(message['chatmesh.chat.MessageReceived'].content.body, 'hello');
    assert.deepEqual(
      h.results.map((r) => [r.accepted, r.seq]),
      [
        [true, 1],
        [true, 2],
      ],
    );
    assert.equal(h.results[1]!.clientMessageId, 'm-1');
  });

  test('a retried send returns the original acknowledgement and stores nothing new', async () => {
    const h = await harness();
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob']));
    const first = await h.processor.process(send(chat, 'bob', 'same-id', 'first'));
    const again = await h.processor.process(send(chat, 'bob', 'same-id', 'changed body'));
    assert.ok(first.accepted && again.accepted);
    assert.equal(again.seq, first.seq);
    assert.equal(again.serverTimeMs, first.serverTimeMs);
    assert.equal(again.duplicate, true);
    assert.equal((await h.store.chatLog.readAfter(chat, 0, 10)).length, 2);
    // The same client id from another sender is another message: ids are scoped by sender.
    const other = await h.processor.process(send(chat, 'alice', 'same-id'));
    assert.equal(other.accepted && other.seq, 3);
  });

  test('unknown chats and non-members get the same code and change nothing', async () => {
    const h = await harness();
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob']));
    const stranger = await h.processor.process(send(chat, 'mallory', 'x'));
    const unknown = await h.processor.process(send(randomName('nochat'), 'alice', 'y'));
    assert.deepEqual(stranger, { accepted: false, code: 'CM_ERR_CHAT_NOT_FOUND' });
    assert.deepEqual(unknown, { accepted: false, code: 'CM_ERR_CHAT_NOT_FOUND' });
    assert.equal((await h.store.chatLog.readAfter(chat, 0, 10)).length, 1);
    await waitFor(() => h.results.length === 3, { description: 'answers' });
    assert.deepEqual(
      h.results.slice(1).map((r) => [r.accepted, r.reason?.code]),
      [
        [false, 'CM_ERR_CHAT_NOT_FOUND'],
        [false, 'CM_ERR_CHAT_NOT_FOUND'],
      ],
    );
  });

  test('only admins manage a group; a removed member can no longer send, from the removal on', async () => {
    const h = await harness();
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob', 'carol']));
    const notAdmin = await h.processor.process(
      command(chat, 'bob', { 'chatmesh.chat.RemoveMembers': { userIds: ['carol'] } }),
    );
    assert.deepEqual(notAdmin, { accepted: false, code: 'CM_ERR_CHAT_FORBIDDEN' });
    const removed = await h.processor.process(
      command(chat, 'alice', { 'chatmesh.chat.RemoveMembers': { userIds: ['carol'] } }),
    );
    assert.ok(removed.accepted);
    assert.deepEqual(await h.processor.process(send(chat, 'carol', 'late')), {
      accepted: false,
      code: 'CM_ERR_CHAT_NOT_FOUND',
    });
    const atRemoval = (await h.store.directory.membersAt(chat, removed.seq)).map((m) => m.userId).sort();
    assert.deepEqual(atRemoval, ['alice', 'bob']);
    const left = await h.processor.process(command(chat, 'bob', { 'chatmesh.chat.LeaveChat': { reason: null } }));
    assert.ok(left.accepted);
    assert.deepEqual(
      (await h.store.directory.currentMembers(chat)).map((m) => m.userId),
      ['alice'],
    );
  });

  test('a 1,024-member group is allowed; a 1,025th member is refused at creation and when added', async () => {
    const h = await harness();
    const chat = randomName('chat');
    const users = Array.from({ length: 1023 }, (_, i) => `u${i}`);
    const tooMany = await h.processor.process(createGroup(randomName('big'), 'owner', [...users, 'extra']));
    assert.deepEqual(tooMany, { accepted: false, code: 'CM_ERR_CHAT_TOO_MANY_MEMBERS' });
    assert.ok((await h.processor.process(createGroup(chat, 'owner', users))).accepted);
    assert.equal((await h.store.directory.currentMembers(chat)).length, 1024);
    const add = await h.processor.process(
      command(chat, 'owner', { 'chatmesh.chat.AddMembers': { userIds: ['extra'] } }),
    );
    assert.deepEqual(add, { accepted: false, code: 'CM_ERR_CHAT_TOO_MANY_MEMBERS' });
  });

  test('a direct chat has one id per pair and cannot be created twice', async () => {
    const h = await harness();
    const chat = directChatId('alice', 'bob');
    const direct = (creator: string, other: string, chatId = chat): ChatCommand =>
      command(chatId, creator, {
        'chatmesh.chat.CreateChat': { kind: 'DIRECT', memberUserIds: [other], name: null, pictureAttachmentId: null },
      });
    const wrongId = await h.processor.process(direct('alice', 'bob', randomName('dm')));
    assert.deepEqual(wrongId, { accepted: false, code: 'CM_ERR_CHAT_INVALID_COMMAND' });
    const first = await h.processor.process(direct('alice', 'bob'));
    const second = await h.processor.process(direct('bob', 'alice'));
    assert.ok(first.accepted && second.accepted);
    assert.equal(second.seq, 1);
    assert.equal((await h.store.chatLog.readAfter(chat, 0, 10)).length, 1);
    const rename = await h.processor.process(
      command(chat, 'alice', {
        'chatmesh.chat.UpdateChat': { name: 'x', pictureAttachmentId: null, clearPicture: false },
      }),
    );
    assert.deepEqual(rename, { accepted: false, code: 'CM_ERR_CHAT_NOT_GROUP' });
  });

  test('a group id taken by another request is refused; the same request retried is acknowledged', async () => {
    const h = await harness();
    const chat = randomName('chat');
    const create = createGroup(chat, 'alice', ['bob']);
    assert.ok((await h.processor.process(create)).accepted);
    assert.ok((await h.processor.process(create)).accepted);
    const hijack = await h.processor.process(createGroup(chat, 'mallory', ['alice']));
    assert.deepEqual(hijack, { accepted: false, code: 'CM_ERR_CHAT_ALREADY_EXISTS' });
    assert.deepEqual((await h.store.directory.currentMembers(chat)).map((m) => m.userId).sort(), ['alice', 'bob']);
  });

  test('oversized, empty and misaddressed messages are refused with their codes', async () => {
    const h = await harness();
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob']));
    const big = await h.processor.process(send(chat, 'alice', 'big', 'x'.repeat(64 * 1024 + 1)));
    assert.deepEqual(big, { accepted: false, code: 'CM_ERR_CHAT_PAYLOAD_TOO_LARGE' });
    const empty = await h.processor.process(send(chat, 'alice', 'empty', ''));
    assert.deepEqual(empty, { accepted: false, code: 'CM_ERR_CHAT_INVALID_COMMAND' });
    const leak = await h.processor.process(
      command(chat, 'alice', {
        'chatmesh.chat.SendMessage': {
          clientMessageId: 'leak',
          content: {
            body: null,
            attachments: [],
            envelopes: [
              { recipientUserId: 'mallory', recipientDeviceId: 'd', ciphertext: Buffer.from('c'), envelopeType: 1 },
            ],
          },
        },
      }),
    );
    assert.deepEqual(leak, { accepted: false, code: 'CM_ERR_CHAT_INVALID_COMMAND' });
    assert.equal((await h.store.chatLog.readAfter(chat, 0, 10)).length, 1);
  });

  test('a sender over the chat rate limit is refused with a retriable code', async () => {
    const h = await harness({ sendBurst: 3 });
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob']));
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await h.processor.process(send(chat, 'alice', `burst-${i}`)));
    assert.deepEqual(
      outcomes.map((o) => o.accepted),
      [true, true, true, false, false],
    );
    assert.deepEqual(outcomes[3], { accepted: false, code: 'CM_ERR_CHAT_RATE_LIMITED' });
    await waitFor(() => h.results.length === 6, { description: 'answers' });
    assert.equal(h.results[4]!.reason?.retriable, true);
  });

  test('a redelivered membership command is answered from its first result and emitted again, not refused', async () => {
    // A crash after the directory change but before chat.events (or the commit) redelivers the command;
    // planned against the changed directory it would be refused and its event never emitted: a gap in
    // every member's inbox.
    const h = await harness();
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob', 'carol']));
    const commands = [
      command(chat, 'alice', { 'chatmesh.chat.RemoveMembers': { userIds: ['carol'] } }),
      command(chat, 'alice', { 'chatmesh.chat.AddMembers': { userIds: ['dave'] } }),
      command(chat, 'bob', { 'chatmesh.chat.LeaveChat': { reason: null } }),
    ];
    for (const [index, original] of commands.entries()) {
      const first = await h.processor.process(original);
      assert.ok(first.accepted && !first.duplicate, `command ${index} accepted`);
      const again = await h.processor.process(original);
      assert.deepEqual(again, { ...first, duplicate: true }, `command ${index} redelivered: the original answer`);
      await waitFor(() => h.events.filter((e) => e.seq === first.seq).length === 2, {
        description: `the event of command ${index} emitted again`,
      });
    }
    assert.deepEqual((await h.store.directory.currentMembers(chat)).map((m) => m.userId).sort(), ['alice', 'dave']);
    assert.equal((await h.store.chatLog.readAfter(chat, 0, 100)).length, 4, 'nothing stored twice');
  });

  test('a new processor (after a crash) continues the sequence and re-emits a stored command without storing it twice', async () => {
    const h = await harness();
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob']));
    const message = send(chat, 'alice', 'm1');
    await h.processor.process(message);
    const bus2 = createMemoryBus();
    buses.push(bus2);
    await bus2.admin.createTopics(topicSpecs({ gatewayIds: [GATEWAY] }));
    const logger = createLogger({ service: 'ingest-test', level: 'silent' });
    const restarted = createCommandProcessor({
      store: h.store,
      codec: h.codec,
      bus: bus2,
      typed: createTypedProducer(bus2, h.codec),
      logger,
    });
    const replayed = await restarted.process(message);
    assert.ok(replayed.accepted && replayed.duplicate && replayed.seq === 2);
    const next = await restarted.process(send(chat, 'bob', 'm2'));
    assert.equal(next.accepted && next.seq, 3);
  });

  test('a chat changed by another owner meanwhile is reloaded when its partition comes back (a new epoch)', async () => {
    const h = await harness();
    const bus2 = createMemoryBus();
    buses.push(bus2);
    await bus2.admin.createTopics(topicSpecs({ gatewayIds: [GATEWAY] }));
    const other = createCommandProcessor({
      store: h.store,
      codec: h.codec,
      bus: bus2,
      typed: createTypedProducer(bus2, h.codec),
      logger: createLogger({ service: 'ingest-test', level: 'silent' }),
    });
    const under = (epoch: number, bus: Bus) => ({ epoch, out: createTypedSink(h.codec, bus) });
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob', 'carol']), under(1, h.bus));
    assert.ok((await h.processor.process(send(chat, 'carol', 'before'), under(1, h.bus))).accepted);
    // The partition moved to another owner, which removed carol, then came back with a newer epoch.
    const removed = await other.process(
      command(chat, 'alice', { 'chatmesh.chat.RemoveMembers': { userIds: ['carol'] } }),
      under(2, bus2),
    );
    assert.ok(removed.accepted);
    assert.deepEqual(await h.processor.process(send(chat, 'carol', 'after'), under(3, h.bus)), {
      accepted: false,
      code: 'CM_ERR_CHAT_NOT_FOUND',
    });
    assert.ok((await h.processor.process(send(chat, 'bob', 'still'), under(3, h.bus))).accepted);
  });

  test('a batch of one chat: sends stored in order with one append, duplicates and refusals answered in place, lifecycle commands keep their place', async () => {
    const h = await harness({ sendBurst: 7 });
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob']));
    await h.processor.process(send(chat, 'bob', 'early'));
    await waitFor(() => h.events.length === 2, { description: 'the events before the batch' });
    const before = h.events.length;
    let reads = 0;
    const findKeys = h.store.chatLog.findKeys.bind(h.store.chatLog);
    h.store.chatLog.findKeys = async (streamId, keys) => {
      reads++;
      return findKeys(streamId, keys);
    };
    const batch = [
      send(chat, 'alice', 'a1'),
      send(chat, 'bob', 'early'), // stored before the batch: its first seq
      send(chat, 'mallory', 'x1'), // not a member
      send(chat, 'alice', 'a2'),
      send(chat, 'alice', 'a2'), // the same message twice in one batch
      command(chat, 'alice', {
        'chatmesh.chat.UpdateChat': { name: 'Renamed', pictureAttachmentId: null, clearPicture: false },
      }),
      send(chat, 'bob', 'b1'),
      send(chat, 'bob', 'b2'),
    ];
    const outcomes = await h.processor.processBatch(batch);
    assert.deepEqual(
      outcomes.map((o) => (o.accepted ? [o.seq, o.duplicate] : o.code)),
      [[3, false], [2, true], 'CM_ERR_CHAT_NOT_FOUND', [4, false], [4, true], [5, false], [6, false], [7, false]],
    );
    assert.equal(reads, 2, 'one key read per run of sends (the update runs alone between the two runs)');
    assert.deepEqual(
      (await h.store.chatLog.readAfter(chat, 0, 10)).map((e) => [e.seq, e.kind]),
      [
        [1, 'chat_created'],
        [2, 'message'],
        [3, 'message'],
        [4, 'message'],
        [5, 'chat_updated'],
        [6, 'message'],
        [7, 'message'],
      ],
    );
    await waitFor(() => h.events.length === before + 7, { description: 'the batch emitted' });
    assert.deepEqual(
      h.events.slice(before).map((e) => e.seq),
      [3, 2, 4, 4, 5, 6, 7],
      'every accepted command emits its event (duplicates again), in command order',
    );
    await waitFor(() => h.results.filter((r) => r.chatId === chat).length === 2 + batch.length, {
      description: 'every command answered',
    });
    const rateLimited = await h.processor.processBatch(
      Array.from({ length: 6 }, (_, i) => send(chat, 'alice', `burst-${i}`)),
    );
    assert.deepEqual(
      rateLimited.map((o) => (o.accepted ? 'ok' : o.code)),
      ['ok', 'ok', 'ok', 'ok', 'ok', 'CM_ERR_CHAT_RATE_LIMITED'],
      'the rate limit holds within a batch (burst 7: alice sent two messages above; her repeated one took no token)',
    );
  });

  test('a send the event schema cannot hold is refused with a code, alone and inside a batch, and stores nothing', async () => {
    const h = await harness();
    const chat = randomName('chat');
    await h.processor.process(createGroup(chat, 'alice', ['bob']));
    const unencodable = (clientMessageId: string): ChatCommand =>
      command(chat, 'alice', {
        'chatmesh.chat.SendMessage': {
          clientMessageId,
          content: {
            body: null,
            attachments: [],
            // An Avro int holds 32 bits: this envelope type cannot be encoded.
            envelopes: [
              {
                recipientUserId: 'bob',
                recipientDeviceId: 'bob-phone',
                ciphertext: Buffer.from('x'),
                envelopeType: 2 ** 40,
              },
            ],
          },
        },
      });
    assert.deepEqual(await h.processor.process(unencodable('u1')), {
      accepted: false,
      code: 'CM_ERR_CHAT_INVALID_COMMAND',
    });
    // In a batch the encoding fault fails the whole batch (the bus then goes record by record, as above).
    await assert.rejects(h.processor.processBatch([send(chat, 'bob', 'ok-1'), unencodable('u2')]), {
      code: 'CM_ERR_SCHEMA_ENCODE',
    });
    assert.deepEqual(
      (await h.store.chatLog.readAfter(chat, 0, 10)).map((e) => e.kind),
      ['chat_created'],
      'nothing stored',
    );
  });
});
