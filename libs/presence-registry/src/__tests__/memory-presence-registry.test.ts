import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryPresenceRegistry, PresenceError } from '../index.js';
import { runPresenceRegistryContract } from './presence-registry-contract.js';

runPresenceRegistryContract('memory', async () => createMemoryPresenceRegistry());

describe('memory presence registry with a fake clock', () => {
  function fakeClock(startMs = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
    let nowMs = startMs;
    return { now: () => nowMs, advance: (ms) => void (nowMs += ms) };
  }

  test('expiry happens exactly at the deadline of the clock', async () => {
    const clock = fakeClock();
    const registry = createMemoryPresenceRegistry({ clock: clock.now });
    await registry.registerDevice({ userId: 'u', deviceId: 'd', gatewayId: 'g', connectionId: 'c', ttlMs: 300 });
    clock.advance(299);
    assert.equal((await registry.onlineDevices('u')).length, 1);
    clock.advance(1);
    assert.deepEqual(await registry.onlineDevices('u'), []);
    assert.equal(await registry.lastSeen('u'), 1_700_000_000_300);
  });

  test('nowMs overrides the clock per call', async () => {
    const clock = fakeClock();
    const registry = createMemoryPresenceRegistry({ clock: clock.now });
    await registry.registerDevice({
      userId: 'u',
      deviceId: 'd',
      gatewayId: 'g',
      connectionId: 'c',
      ttlMs: 300,
      nowMs: clock.now() - 1_000,
    });
    const [device] = await registry.onlineDevices('u');
    assert.equal(device, undefined, 'registered 1 s ago with 300 ms: dead by the clock');
    assert.equal(await registry.lastSeen('u'), clock.now() - 700);
  });

  test('devices of a replaced instance died when the new instance took over', async () => {
    const clock = fakeClock();
    const registry = createMemoryPresenceRegistry({ clock: clock.now });
    await registry.acquireGateway({ gatewayId: 'g', instanceId: 'i1', ttlMs: 10_000 });
    await registry.registerDevice({
      userId: 'u',
      deviceId: 'd',
      gatewayId: 'g',
      gatewayInstanceId: 'i1',
      connectionId: 'c',
      ttlMs: 60_000,
    });
    clock.advance(2_000);
    const takeoverMs = clock.now();
    await registry.acquireGateway({ gatewayId: 'g', instanceId: 'i2', ttlMs: 10_000 });
    clock.advance(5_000);
    assert.equal(await registry.lastSeen('u'), takeoverMs);
  });

  test('last seen is forgotten after the retention with no write', async () => {
    const clock = fakeClock();
    const registry = createMemoryPresenceRegistry({ clock: clock.now, lastSeenRetentionMs: 10_000 });
    await registry.registerDevice({ userId: 'u', deviceId: 'd', gatewayId: 'g', connectionId: 'c', ttlMs: 1_000 });
    await registry.unregisterDevice({ userId: 'u', deviceId: 'd', connectionId: 'c' });
    clock.advance(9_999);
    assert.equal(await registry.lastSeen('u'), 1_700_000_000_000);
    clock.advance(1);
    assert.equal(await registry.lastSeen('u'), null);
  });

  test('options are validated', () => {
    assert.throws(
      () => createMemoryPresenceRegistry({ lastSeenRetentionMs: 0 }),
      (error: unknown) => error instanceof PresenceError && error.code === 'CM_ERR_PRESENCE_INVALID_OPTIONS',
    );
  });
});
