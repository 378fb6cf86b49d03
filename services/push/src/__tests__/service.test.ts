import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { startServiceGroup, silentObservability } from '@chatmesh/runtime';
import { createLocalCodec } from '@chatmesh/schemas';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createMemoryStore } from '@chatmesh/store';
import { pushService } from '../index.js';

test('push creates the topics it consumes and produces, with their dead-letter twins, and reports ready', async () => {
  const bus = createMemoryBus();
  try {
    const group = await startServiceGroup([pushService], {
      config: loadConfig({ env: {} }),
      ...silentObservability('test'),
      bus,
      codec: createLocalCodec(),
      store: createMemoryStore(),
      presence: createMemoryPresenceRegistry(),
    });
    const topics = await bus.admin.listTopics();
    for (const topic of [...pushService.consumes, ...pushService.produces]) {
      const name = topic.replace('<id>', 'gateway-0');
      // Other gateways' delivery topics belong to those gateways.
      if (topic.includes('<id>') && pushService.name !== 'delivery-gateway') continue;
      assert.ok(topics.includes(name), `${name} was not created`);
      assert.ok(topics.includes(`${name}.dlq`), `${name}.dlq was not created`);
    }
    assert.equal(group.isReady(), true);
    assert.equal(group.health()['push']?.details?.logic, 'pending');
    await group.stop();
    assert.equal(group.isReady(), false);
  } finally {
    await bus.close();
  }
});
