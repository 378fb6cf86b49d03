import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus, type BusRecord } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createTypedProducer, startServiceGroup, silentObservability } from '@chatmesh/runtime';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  TOPICS,
  type ChatEvent,
  type GatewayDelivery,
  type PushRequest,
} from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { FAN_OUT_CONFIG, fanOutService } from '../index.js';

test('fan-out turns a chat event into inbox rows, delivers to online devices and pushes to offline users', async () => {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  try {
    const gateway = gatewayDeliveriesTopic('gw-1').name;
    await bus.admin.createTopics([{ name: gateway, partitions: 1 }]);
    await presence.acquireGateway({ gatewayId: 'gw-1', instanceId: 'i1', ttlMs: 60_000 });
    await presence.registerDevice({
      userId: 'alice',
      deviceId: 'alice-phone',
      gatewayId: 'gw-1',
      gatewayInstanceId: 'i1',
      connectionId: 'c1',
      ttlMs: 60_000,
    });
    const chatId = randomName('chat');
    for (const userId of ['alice', 'bob', 'carol']) {
      await store.directory.addMember({
        chatId,
        userId,
        role: 'member',
        joinedSeq: 1,
        removedSeq: null,
        addedBy: 'alice',
      });
    }
    const group = await startServiceGroup([fanOutService], {
      config: loadConfig({ env: {}, sections: { fanOut: FAN_OUT_CONFIG } }),
      ...silentObservability('test'),
      bus,
      codec,
      store,
      presence,
    });
    const collect = (topic: string): Promise<BusRecord[]> => collectRecords(bus, topic);
    const deliveries = await collect(gateway);
    const pushes = await collect(TOPICS.pushRequests.name);
    await waitFor(() => group.isReady(), { description: 'fan-out ready' });

    const event: ChatEvent = {
      chatId,
      seq: 2,
      serverTimeMs: 5,
      origin: { userId: 'carol', deviceId: 'carol-phone', gatewayId: 'gw-1', requestId: 'r', receivedAtMs: 1 },
      event: {
        'chatmesh.chat.MessageReceived': {
          clientMessageId: 'm',
          content: { body: 'hello', envelopes: [], attachments: [] },
        },
      },
    };
    // Stored by ingest before it is emitted: deliveries read the body from the chat log.
    const bytes = await codec.encode(`${TOPICS.chatEvents.name}-value`, event);
    await store.chatLog.insertIfAbsent({
      streamId: chatId,
      seq: 2,
      idempotencyKey: 'k',
      kind: 'message',
      payload: bytes,
      createdAtMs: 5,
    });
    await createTypedProducer(bus, codec).send(TOPICS.chatEvents.name, chatId, event);
    await bus.producer.send(TOPICS.chatEvents.name, [{ key: chatId, value: bytes }]); // a duplicate emission

    await waitFor(
      async () =>
        (await store.inboxLog.readAfter('bob', 0, 10)).length === 1 && deliveries.length >= 1 && pushes.length >= 1,
      {
        description: 'inbox rows, a delivery and a push',
      },
    );
    await waitFor(() => (group.health()['fan-out']?.details?.['inboxEntries'] as number) === 6, {
      description: 'both copies sequenced',
    });
    for (const user of ['alice', 'bob', 'carol']) {
      assert.equal((await store.inboxLog.readAfter(user, 0, 10)).length, 1, `${user} has exactly one inbox row`);
    }
    const delivery = (await codec.decode<GatewayDelivery>(deliveries[0]!.value!)).value;
    assert.equal(delivery.deviceId, 'alice-phone');
    assert.ok('chatmesh.gateway.InboxDelivery' in delivery.payload);
    assert.equal(delivery.payload['chatmesh.gateway.InboxDelivery'].content?.body, 'hello');
    const pushed = await Promise.all(pushes.map(async (r) => (await codec.decode<PushRequest>(r.value!)).value.userId));
    assert.deepEqual([...new Set(pushed)], ['bob'], 'carol sent it, alice is online: only bob is woken');
    await group.stop();
  } finally {
    await bus.close();
  }
});

test("fan-out writes a broadcast chat's events once to chat.broadcast, as ingest encoded them", async () => {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  try {
    const chatId = randomName('group');
    for (const userId of ['alice', 'bob', 'carol']) {
      await store.directory.addMember({
        chatId,
        userId,
        role: 'member',
        joinedSeq: 1,
        removedSeq: null,
        addedBy: 'alice',
      });
    }
    const group = await startServiceGroup([fanOutService], {
      config: loadConfig({
        env: { CHATMESH_FAN_OUT_BROADCAST_THRESHOLD: '3', CHATMESH_FAN_OUT_BROADCAST_PUSH_WINDOW_MS: '0' },
        sections: { fanOut: FAN_OUT_CONFIG },
      }),
      ...silentObservability('test'),
      bus,
      codec,
      store,
      presence,
    });
    const broadcast = await collectRecords(bus, TOPICS.chatBroadcast.name);
    const pushes = await collectRecords(bus, TOPICS.pushRequests.name);
    await waitFor(() => group.isReady(), { description: 'fan-out ready' });
    const event = (seq: number): ChatEvent => ({
      chatId,
      seq,
      serverTimeMs: seq,
      origin: { userId: 'carol', deviceId: 'carol-phone', gatewayId: 'gw-1', requestId: 'r', receivedAtMs: 1 },
      event: {
        'chatmesh.chat.MessageReceived': {
          clientMessageId: `m${seq}`,
          content: { body: `hello ${seq}`, envelopes: [], attachments: [] },
        },
      },
    });
    // Seq 2 finds three members: it goes to the inboxes and marks the chat broadcast from seq 3.
    const second = await codec.encode(`${TOPICS.chatEvents.name}-value`, event(2));
    const third = await codec.encode(`${TOPICS.chatEvents.name}-value`, event(3));
    await bus.producer.send(TOPICS.chatEvents.name, [
      { key: chatId, value: second },
      { key: chatId, value: third },
    ]);
    await waitFor(() => broadcast.length === 1 && pushes.length >= 2, { description: 'one broadcast record' });
    await waitFor(() => (group.health()['fan-out']?.details?.['inboxEntries'] as number) === 3, {
      description: 'seq 2 sequenced for the three members',
    });
    assert.equal(await store.broadcastChats.sinceOf(chatId), 3);
    assert.equal(broadcast[0]!.key, chatId);
    assert.ok(broadcast[0]!.value!.equals(third), 'the record bytes are forwarded as ingest wrote them');
    for (const user of ['alice', 'bob', 'carol']) {
      assert.deepEqual(
        (await store.inboxLog.readAfter(user, 0, 10)).map((row) => row.idempotencyKey),
        [`chat/${chatId}/2`],
        `${user} has the event before the mark only`,
      );
    }
    const details = group.health()['fan-out']?.details ?? {};
    assert.equal(details['events'], 2);
    assert.equal(details['broadcast'], 1);
    assert.ok((details['topics'] as string[]).includes(TOPICS.chatBroadcast.name));
    // Nobody is online: seq 2's inbox entries push bob and alice, seq 3's broadcast scan pushes them again.
    await waitFor(() => pushes.length === 4, { description: 'four pushes' });
    const requests = await Promise.all(pushes.map(async (r) => (await codec.decode<PushRequest>(r.value!)).value));
    assert.deepEqual(requests.map((p) => p.requestId).sort(), [
      'alice/1',
      `alice/chat/${chatId}/3`,
      'bob/1',
      `bob/chat/${chatId}/3`,
    ]);
    assert.equal(details['broadcastPushes'], 2);
    await group.stop();
  } finally {
    await bus.close();
  }
});

/** One message to an online member through the service; how often the chat log was read back for it. */
async function chatLogReadsForOneDelivery(
  env: Record<string, string>,
): Promise<{ reads: number; body: string | null }> {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  const get = store.chatLog.get.bind(store.chatLog);
  let reads = 0;
  store.chatLog.get = async (streamId, seq) => {
    reads++;
    return get(streamId, seq);
  };
  try {
    const gateway = gatewayDeliveriesTopic('gw-1').name;
    await bus.admin.createTopics([{ name: gateway, partitions: 1 }]);
    await presence.acquireGateway({ gatewayId: 'gw-1', instanceId: 'i1', ttlMs: 60_000 });
    await presence.registerDevice({
      userId: 'alice',
      deviceId: 'alice-phone',
      gatewayId: 'gw-1',
      gatewayInstanceId: 'i1',
      connectionId: 'c1',
      ttlMs: 60_000,
    });
    const chatId = randomName('chat');
    for (const userId of ['alice', 'bob'])
      await store.directory.addMember({
        chatId,
        userId,
        role: 'member',
        joinedSeq: 1,
        removedSeq: null,
        addedBy: 'bob',
      });
    const group = await startServiceGroup([fanOutService], {
      config: loadConfig({ env, sections: { fanOut: FAN_OUT_CONFIG } }),
      ...silentObservability('test'),
      bus,
      codec,
      store,
      presence,
    });
    const deliveries = await collectRecords(bus, gateway);
    await waitFor(() => group.isReady(), { description: 'fan-out ready' });
    const event: ChatEvent = {
      chatId,
      seq: 2,
      serverTimeMs: 5,
      origin: { userId: 'bob', deviceId: 'bob-phone', gatewayId: 'gw-1', requestId: 'r', receivedAtMs: 1 },
      event: {
        'chatmesh.chat.MessageReceived': {
          clientMessageId: 'm',
          content: { body: 'hi', envelopes: [], attachments: [] },
        },
      },
    };
    const bytes = await codec.encode(`${TOPICS.chatEvents.name}-value`, event);
    await store.chatLog.insertIfAbsent({
      streamId: chatId,
      seq: 2,
      idempotencyKey: 'k',
      kind: 'message',
      payload: bytes,
      createdAtMs: 5,
    });
    await bus.producer.send(TOPICS.chatEvents.name, [{ key: chatId, value: bytes }]);
    await waitFor(() => deliveries.length === 1, { description: 'the delivery to alice' });
    const delivery = (await codec.decode<GatewayDelivery>(deliveries[0]!.value!)).value;
    const body =
      'chatmesh.gateway.InboxDelivery' in delivery.payload
        ? (delivery.payload['chatmesh.gateway.InboxDelivery'].content?.body ?? null)
        : null;
    await group.stop();
    return { reads, body };
  } finally {
    await bus.close();
  }
}

test('a delivery renders from the bytes the expansion saw: the chat log is not read back (unless the cache is off)', async () => {
  assert.deepEqual(await chatLogReadsForOneDelivery({}), { reads: 0, body: 'hi' });
  const off = await chatLogReadsForOneDelivery({ CHATMESH_FAN_OUT_PAYLOAD_CACHE_BYTES: '0' });
  assert.equal(off.body, 'hi');
  assert.ok(off.reads >= 1, 'without the cache the sequencer reads the row');
});
