import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomName, startLoopbackProxy, waitFor, type LoopbackProxy } from '@chatmesh/testing';
import { startHarness, TestClient, type Harness } from './harness.js';

// Issue 15, item 3: a client whose network vanished (no FIN, no RST) is closed by the gateway's idle timeout with
// pings, and goes offline: within CHATMESH_GATEWAY_IDLE_TIMEOUT_SECONDS plus uWebSockets.js's 4 s timer
// granularity (docs/reliability.md, "Half-open connections").

const IDLE_TIMEOUT_SECONDS = 8;
let h: Harness;
let proxy: LoopbackProxy;
before(async () => {
  h = await startHarness({
    withCore: false,
    env: { CHATMESH_GATEWAY_IDLE_TIMEOUT_SECONDS: String(IDLE_TIMEOUT_SECONDS) },
  });
  proxy = await startLoopbackProxy(h.gateway.url);
});
after(async () => {
  await proxy?.close();
  await h?.close();
});

test(
  'a client that goes silent is closed by the idle timeout and goes offline within the bound',
  { timeout: 60_000 },
  async () => {
    const user = randomName('u');
    const wsUrl = `${proxy.url.replace(/^http/, 'ws')}/v1/ws`;
    const client = await TestClient.open(wsUrl, await h.token(user, 'phone'));
    await client.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
    await waitFor(async () => (await h.presence.onlineDevices(user)).length === 1, { description: 'online' });
    // The `ws` client answers the gateway's pings by itself: an open, idle connection outlives the timeout.
    await new Promise((resolve) => setTimeout(resolve, (IDLE_TIMEOUT_SECONDS + 5) * 1000));
    assert.equal((await h.presence.onlineDevices(user)).length, 1, 'an idle but live client stays connected');

    const silencedAtMs = Date.now();
    assert.equal(proxy.silenceAll(), 1);
    await waitFor(async () => (await h.presence.onlineDevices(user)).length === 0, {
      description: 'the silent device offline',
      timeoutMs: 40_000,
      intervalMs: 100,
    });
    const elapsedS = (Date.now() - silencedAtMs) / 1000;
    assert.ok(elapsedS <= IDLE_TIMEOUT_SECONDS + 4 + 1, `offline after ${elapsedS} s`);
    assert.equal(h.gateway.health().details['connections'], 0);
    client.terminate();
  },
);
