import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus, type BusRecord } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import { collectConfigSections, createTypedProducer, startServiceGroup, silentObservability } from '@chatmesh/runtime';
import { createLocalCodec, gatewayDeliveriesTopic, TOPICS, type ChatEvent, type DeadLetter } from '@chatmesh/schemas';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createMemoryStore } from '@chatmesh/store';
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
