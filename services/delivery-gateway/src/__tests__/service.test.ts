import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { startServiceGroup } from '@chatmesh/runtime';
import { createLocalCodec } from '@chatmesh/schemas';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createMemoryStore } from '@chatmesh/store';
import { deliveryGatewayService } from '../index.js';

test('delivery-gateway creates the topics it consumes and produces, with their dead-letter twins, and reports ready', async () => {
  const bus = createMemoryBus();
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  try {
    const group = await startServiceGroup([deliveryGatewayService], {
      config: loadConfig({ env: {} }),
      logger: createLogger({ service: 'test', level: 'silent' }),
      registry,
      metrics: createChatmeshMetrics(registry),
      bus,
      codec: createLocalCodec(),
      store: createMemoryStore(),
      presence: createMemoryPresenceRegistry(),
    });
    const topics = await bus.admin.listTopics();
    for (const topic of [...deliveryGatewayService.consumes, ...deliveryGatewayService.produces]) {
      const name = topic.replace('<id>', 'gateway-0');
      // Other gateways' delivery topics belong to those gateways.
      if (topic.includes('<id>') && deliveryGatewayService.name !== 'delivery-gateway') continue;
      assert.ok(topics.includes(name), `${name} was not created`);
      assert.ok(topics.includes(`${name}.dlq`), `${name}.dlq was not created`);
    }
    assert.equal(group.isReady(), true);
    assert.equal(group.health()['delivery-gateway']?.details?.logic, 'pending');
    await group.stop();
    assert.equal(group.isReady(), false);
  } finally {
    await bus.close();
  }
});
