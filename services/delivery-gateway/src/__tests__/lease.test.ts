import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness } from './harness.js';

test('the lease heartbeat keeps devices online past their TTL; losing the lease closes every socket with 1012', async () => {
  const h = await startHarness({ withCore: false, env: { CHATMESH_GATEWAY_LEASE_TTL_MS: '1000' } });
  try {
    const user = randomName('u');
    const c = await h.connect(user, 'd');
    await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
    // Four renewals span well over one TTL: without them the entry would have lapsed.
    await waitFor(() => (h.gateway.health().details['leaseRenewals'] as number) >= 4, {
      description: 'four lease renewals',
    });
    assert.equal((await h.presence.onlineDevices(user)).length, 1, 'still online after several TTLs');

    // Another process takes the same gateway id over.
    await h.presence.acquireGateway({ gatewayId: h.gatewayId, instanceId: 'intruder', ttlMs: 60_000 });
    assert.equal((await c.closed).code, 1012);
    assert.equal(h.gateway.health().status, 'failed');
    assert.equal(h.gateway.health().ready, false);
  } finally {
    await h.close();
  }
});
