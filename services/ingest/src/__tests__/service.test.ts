import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus, type BusRecord } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import { collectConfigSections, createTypedProducer, startServiceGroup, silentObservability } from '@chatmesh/runtime';
import { ChatmeshError } from '@chatmesh/errors';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  isBranch,
  TOPICS,
  type ChatEvent,
  type DeadLetter,
  type GatewayDelivery,
} from '@chatmesh/schemas';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createMemoryStore, type SequencedLogStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { ingestService } from '../index.js';

test('ingest consumes chat.commands, stores and emits chat.events, and parks a poison record on the dead-letter twin', async () => {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  try {
    // The gateway owns its delivery topic; here the test plays the gateway.
    await bus.admin.createTopics([{ name: gatewayDeliveriesTopic('gw-1').name, partitions: 1 }]);
    const group = await startServiceGroup([ingestService], {
      config: loadConfig({ env: {}, sections: collectConfigSections([ingestService]) }),
      ...silentObservability('test'),
      bus,
      codec,
      store,
      presence: createMemoryPresenceRegistry(),
    });
    for (const topic of [TOPICS.chatCommands.name, TOPICS.chatEvents.name]) {
      assert.ok((await bus.admin.listTopics()).includes(`${topic}.dlq`), `${topic}.dlq exists`);
    }
    const collect = (topic: string): Promise<BusRecord[]> => collectRecords(bus, topic);
    const events = await collect(TOPICS.chatEvents.name);
    const dead = await collect(`${TOPICS.chatCommands.name}.dlq`);
    await waitFor(() => group.isReady(), { description: 'ingest ready' });

    const chatId = randomName('chat');
    const origin = { userId: 'alice', deviceId: 'phone', gatewayId: 'gw-1', requestId: 'r1', receivedAtMs: 1 };
    const producer = createTypedProducer(bus, codec);
    await producer.send(TOPICS.chatCommands.name, chatId, {
      chatId,
      origin,
      traceparent: null,
      command: {
        'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: ['bob'], name: 'G', pictureAttachmentId: null },
      },
    });
    await bus.producer.send(TOPICS.chatCommands.name, [{ key: chatId, value: Buffer.from('not avro at all') }]);
    await producer.send(TOPICS.chatCommands.name, chatId, {
      chatId,
      origin: { ...origin, requestId: 'r2' },
      traceparent: null,
      command: {
        'chatmesh.chat.SendMessage': {
          afterClientMessageId: null,
          clientMessageId: 'm1',
          content: { body: 'hi', envelopes: [], attachments: [] },
        },
      },
    });

    await waitFor(() => events.length === 2 && dead.length === 1, { description: 'two events and one dead letter' });
    const decoded = await Promise.all(events.map(async (r) => (await codec.decode<ChatEvent>(r.value!)).value));
    assert.deepEqual(
      decoded.map((e) => e.seq),
      [1, 2],
      'the poison record took no sequence number',
    );
    const letter = (await codec.decode<DeadLetter>(dead[0]!.value!)).value;
    assert.equal(letter.errorCode, 'CM_ERR_SCHEMA_DECODE');
    assert.equal(letter.originalValue?.toString(), 'not avro at all');
    assert.equal(letter.originalTopic, TOPICS.chatCommands.name);
    assert.equal(group.health()['ingest']?.details?.['accepted'], 2);
    await group.stop();
    assert.equal(group.isReady(), false);
  } finally {
    await bus.close();
  }
});

test('a command parked after its retries is answered: a retriable CM_ERR_CHAT_COMMAND_FAILED, without the cause', async () => {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  // The chat log refuses messages with an error that is not retried, so the command goes straight to the twin.
  const refuse = (): never => {
    throw new ChatmeshError('CM_ERR_STORE_INVALID_ARGUMENT', 'refused by 10.0.0.7:9042 (a driver detail)');
  };
  const chatLog: SequencedLogStore = {
    ...store.chatLog,
    write: async (entry, epoch) => (entry.kind === 'message' ? refuse() : store.chatLog.write(entry, epoch)),
    writeBatch: async (entries, epoch) =>
      entries.some((entry) => entry.kind === 'message') ? refuse() : store.chatLog.writeBatch(entries, epoch),
  };
  try {
    const gateway = gatewayDeliveriesTopic('gw-1').name;
    await bus.admin.createTopics([{ name: gateway, partitions: 1 }]);
    const group = await startServiceGroup([ingestService], {
      config: loadConfig({ env: {}, sections: collectConfigSections([ingestService]) }),
      ...silentObservability('test'),
      bus,
      codec,
      store: { ...store, chatLog },
      presence: createMemoryPresenceRegistry(),
    });
    const answers = await collectRecords(bus, gateway);
    const dead = await collectRecords(bus, `${TOPICS.chatCommands.name}.dlq`);
    await waitFor(() => group.isReady(), { description: 'ingest ready' });
    const chatId = randomName('chat');
    const origin = { userId: 'alice', deviceId: 'phone', gatewayId: 'gw-1', requestId: 'r1', receivedAtMs: 1 };
    const producer = createTypedProducer(bus, codec);
    await producer.send(TOPICS.chatCommands.name, chatId, {
      chatId,
      origin,
      traceparent: null,
      command: {
        'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: ['bob'], name: 'G', pictureAttachmentId: null },
      },
    });
    await producer.send(TOPICS.chatCommands.name, chatId, {
      chatId,
      origin: { ...origin, requestId: 'r2' },
      traceparent: null,
      command: {
        'chatmesh.chat.SendMessage': {
          afterClientMessageId: null,
          clientMessageId: 'm1',
          content: { body: 'hi', envelopes: [], attachments: [] },
        },
      },
    });
    await waitFor(() => answers.length === 2 && dead.length === 1, { description: 'two answers and a dead letter' });
    const results = await Promise.all(answers.map(async (r) => (await codec.decode<GatewayDelivery>(r.value!)).value));
    const failed = results
      .map((delivery) => delivery.payload)
      .find(
        (payload) =>
          isBranch(payload, 'chatmesh.gateway.CommandResult') &&
          payload['chatmesh.gateway.CommandResult'].requestId === 'r2',
      );
    assert.ok(failed && isBranch(failed, 'chatmesh.gateway.CommandResult'));
    const result = failed['chatmesh.gateway.CommandResult'];
    assert.equal(result.accepted, false);
    assert.equal(result.clientMessageId, 'm1');
    assert.equal(result.reason?.code, 'CM_ERR_CHAT_COMMAND_FAILED');
    assert.equal(result.reason?.retriable, true);
    assert.doesNotMatch(result.reason?.message ?? '', /10\.0\.0\.7/, 'the cause stays in the dead letter');
    const letter = (await codec.decode<DeadLetter>(dead[0]!.value!)).value;
    assert.equal(letter.errorCode, 'CM_ERR_STORE_INVALID_ARGUMENT');
    await group.stop();
  } finally {
    await bus.close();
  }
});
