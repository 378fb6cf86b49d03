import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus, type BusRecord } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { collectConfigSections, createTypedProducer, silentObservability, startServiceGroup } from '@chatmesh/runtime';
import { createLocalCodec, gatewayDeliveriesTopic, TOPICS, type ChatCommand } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import type { Registry } from '@chatmesh/metrics';
import { commandType, ingestService } from '../index.js';

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

test('ingest counts commands by type and outcome, refusals by code, command-to-stored time and batch sizes', async () => {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const observability = silentObservability('test');
  const { registry } = observability;
  try {
    await bus.admin.createTopics([{ name: gatewayDeliveriesTopic('gw-1').name, partitions: 1 }]);
    const group = await startServiceGroup([ingestService], {
      config: loadConfig({ env: {}, sections: collectConfigSections([ingestService]) }),
      ...observability,
      bus,
      codec,
      store,
      presence: createMemoryPresenceRegistry(),
    });
    const answers: BusRecord[] = await collectRecords(bus, gatewayDeliveriesTopic('gw-1').name);
    await waitFor(() => group.isReady(), { description: 'ingest ready' });

    const chatId = randomName('chat');
    const producer = createTypedProducer(bus, codec);
    let request = 0;
    const send = (userId: string, command: ChatCommand['command'], receivedAtMs = Date.now() - 40): Promise<unknown> =>
      producer.send(TOPICS.chatCommands.name, chatId, {
        chatId,
        origin: { userId, deviceId: 'phone', gatewayId: 'gw-1', requestId: `r${++request}`, receivedAtMs },
        traceparent: null,
        command,
      });
    const message = (clientMessageId: string): ChatCommand['command'] => ({
      'chatmesh.chat.SendMessage': {
        afterClientMessageId: null,
        clientMessageId,
        content: { body: 'hi', envelopes: [], attachments: [] },
      },
    });
    await send('alice', {
      'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: ['bob'], name: 'G', pictureAttachmentId: null },
    });
    await send('alice', message('m1'));
    await send('alice', message('m1')); // a retried send: answered with its original result
    await send('mallory', message('m2')); // not a member
    await waitFor(() => answers.length === 4, { description: 'four answers' });

    assert.equal(await value(registry, 'chatmesh_ingest_commands_total', { type: 'create', outcome: 'accepted' }), 1);
    assert.equal(await value(registry, 'chatmesh_ingest_commands_total', { type: 'send', outcome: 'accepted' }), 1);
    assert.equal(await value(registry, 'chatmesh_ingest_commands_total', { type: 'send', outcome: 'duplicate' }), 1);
    assert.equal(await value(registry, 'chatmesh_ingest_commands_total', { type: 'send', outcome: 'refused' }), 1);
    const refusals = (await registry.getSingleMetric('chatmesh_ingest_refusals_total')!.get()).values;
    assert.equal(refusals.length, 1);
    assert.match(String(refusals[0]!.labels['code']), /^CM_ERR_/);
    assert.equal(refusals[0]!.value, 1);
    // Stored: the create and the first send, each received 40 ms before it was produced.
    assert.equal(await value(registry, 'chatmesh_ingest_command_to_stored_seconds_count', { type: 'send' }), 1);
    assert.equal(await value(registry, 'chatmesh_ingest_command_to_stored_seconds_count', { type: 'create' }), 1);
    assert.ok((await value(registry, 'chatmesh_ingest_command_to_stored_seconds_sum', { type: 'send' })) >= 0.04);
    // Every command went through a batch of one or more (the bus decides how many a batch holds).
    assert.equal(await value(registry, 'chatmesh_ingest_batch_size_commands_sum'), 4);
    await group.stop();
  } finally {
    await bus.close();
  }
});

test('the type label names each command branch', () => {
  const of = (command: ChatCommand['command']): string =>
    commandType({
      chatId: 'c',
      origin: { userId: 'u', deviceId: 'd', gatewayId: 'g', requestId: 'r', receivedAtMs: 0 },
      traceparent: null,
      command,
    });
  assert.equal(of({ 'chatmesh.chat.LeaveChat': { reason: null } }), 'leave');
  assert.equal(of({ 'chatmesh.chat.AddMembers': { userIds: [] } }), 'add_members');
  assert.equal(of({ 'chatmesh.chat.RemoveMembers': { userIds: [] } }), 'remove_members');
  assert.equal(
    of({ 'chatmesh.chat.UpdateChat': { name: 'x', pictureAttachmentId: null, clearPicture: false } }),
    'update',
  );
});
