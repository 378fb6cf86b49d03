import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createMetrics, createMetricsRegistry, type Registry } from '@chatmesh/metrics';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createTypedProducer, silentObservability, startServiceGroup } from '@chatmesh/runtime';
import { createLocalCodec, gatewayDeliveriesTopic, TOPICS, type ChatEvent } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { countBroadcastPushes, FAN_OUT_CONFIG, FAN_OUT_METRICS, fanOutService, recordExpansion } from '../index.js';

/** The value of one series (a histogram's `_count` or `_sum` by its full name), 0 when absent. */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const base = name.replace(/_(count|sum)$/, '');
  const metric = registry.getSingleMetric(base);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  const series = values.find(
    (v) =>
      (v as { metricName?: string }).metricName === (base === name ? undefined : name) &&
      Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l),
  );
  return series?.value ?? 0;
}

test('fan-out counts expansions, recipients, inbox entries created and replayed, deliveries and pushes', async () => {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  const observability = silentObservability('test');
  const { registry } = observability;
  try {
    await bus.admin.createTopics([{ name: gatewayDeliveriesTopic('gw-1').name, partitions: 1 }]);
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
      ...observability,
      bus,
      codec,
      store,
      presence,
    });
    await waitFor(() => group.isReady(), { description: 'fan-out ready' });
    const event: ChatEvent = {
      chatId,
      seq: 2,
      serverTimeMs: 5,
      origin: { userId: 'carol', deviceId: 'carol-phone', gatewayId: 'gw-1', requestId: 'r', receivedAtMs: 1 },
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
    await createTypedProducer(bus, codec).send(TOPICS.chatEvents.name, chatId, event);
    await bus.producer.send(TOPICS.chatEvents.name, [{ key: chatId, value: bytes }]); // a duplicate emission
    await waitFor(() => (group.health()['fan-out']?.details?.['inboxEntries'] as number) === 6, {
      description: 'both copies sequenced',
    });

    assert.equal(await value(registry, 'chatmesh_fan_out_events_expanded_total', { path: 'inbox' }), 2);
    assert.equal(await value(registry, 'chatmesh_fan_out_events_expanded_total', { path: 'broadcast' }), 0);
    assert.equal(await value(registry, 'chatmesh_fan_out_recipients_per_event_count', { path: 'inbox' }), 2);
    assert.equal(await value(registry, 'chatmesh_fan_out_recipients_per_event_sum', { path: 'inbox' }), 6);
    assert.equal(await value(registry, 'chatmesh_fan_out_inbox_entries_total', { result: 'created' }), 3);
    assert.equal(await value(registry, 'chatmesh_fan_out_inbox_entries_total', { result: 'replay' }), 3);
    const details = group.health()['fan-out']!.details!;
    assert.ok((details['delivered'] as number) >= 1);
    assert.equal(await value(registry, 'chatmesh_fan_out_deliveries_routed_total'), details['delivered']);
    assert.ok((details['pushed'] as number) >= 1);
    assert.equal(
      await value(registry, 'chatmesh_fan_out_pushes_requested_total', { source: 'inbox' }),
      details['pushed'],
    );
    await group.stop();
  } finally {
    await bus.close();
  }
});

test('the broadcast path: expansions by path, and the pusher total (timer pushes included) read at each scrape', async () => {
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  const metrics = createMetrics(registry, FAN_OUT_METRICS);
  recordExpansion(metrics, { recipients: [], broadcast: true, pushed: 3 });
  recordExpansion(metrics, { recipients: ['dave'], broadcast: true, pushed: 0 });
  assert.equal(await value(registry, 'chatmesh_fan_out_events_expanded_total', { path: 'broadcast' }), 2);
  assert.equal(await value(registry, 'chatmesh_fan_out_recipients_per_event_sum', { path: 'broadcast' }), 1);
  let total = 3;
  countBroadcastPushes(metrics, () => total);
  assert.equal(await value(registry, 'chatmesh_fan_out_pushes_requested_total', { source: 'broadcast' }), 3);
  total = 7; // the window's timer pushed 4 more, with no event in between
  assert.equal(await value(registry, 'chatmesh_fan_out_pushes_requested_total', { source: 'broadcast' }), 7);
  assert.equal(await value(registry, 'chatmesh_fan_out_pushes_requested_total', { source: 'broadcast' }), 7);
});
