import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startLoopbackProxy, waitFor, type LoopbackProxy } from '@chatmesh/testing';
import WebSocket from 'ws';
import { createChatClient, type DisconnectedEvent } from '../index.js';
import { startChatmeshSystem, type ChatmeshSystem } from './helpers/chatmesh-system.js';

// Issue 15, item 3: a server that goes silent (network dropped, no FIN, no RST) is noticed by the SDK's heartbeat
// within pingIntervalMs + pongTimeoutMs, and the SDK reconnects (docs/reliability.md, "Half-open connections").

const PING_INTERVAL_MS = 500;
const PONG_TIMEOUT_MS = 200;
let system: ChatmeshSystem;
let proxy: LoopbackProxy;
before(async () => {
  system = await startChatmeshSystem();
  proxy = await startLoopbackProxy(system.url);
});
after(async () => {
  await proxy?.close();
  await system?.close();
});

test(
  'the SDK drops a silent connection within pingIntervalMs + pongTimeoutMs and reconnects',
  { timeout: 60_000 },
  async () => {
    const client = createChatClient({
      url: proxy.url,
      deviceId: 'phone',
      tokenProvider: () => system.token('hb-user', 'phone'),
      webSocketFactory: (url) => new WebSocket(url),
      pingIntervalMs: PING_INTERVAL_MS,
      pongTimeoutMs: PONG_TIMEOUT_MS,
      backoff: { initialDelayMs: 5, maxDelayMs: 50 },
    });
    try {
      let connections = 0;
      const disconnects: Array<DisconnectedEvent & { atMs: number }> = [];
      client.on('connected', () => connections++);
      client.on('disconnected', (event) => disconnects.push({ ...event, atMs: Date.now() }));
      await waitFor(() => connections === 1, { description: 'connected' });
      // Live and answering: several intervals pass with no drop.
      await new Promise((resolve) => setTimeout(resolve, PING_INTERVAL_MS * 4));
      assert.equal(disconnects.length, 0, 'a live connection is kept');

      const silencedAtMs = Date.now();
      assert.equal(proxy.silenceAll(), 1);
      await waitFor(() => disconnects.length === 1, {
        description: 'the silent connection dropped',
        timeoutMs: 10_000,
      });
      const detectedMs = disconnects[0]!.atMs - silencedAtMs;
      assert.ok(detectedMs <= PING_INTERVAL_MS + PONG_TIMEOUT_MS + 150, `dropped after ${detectedMs} ms`);
      assert.equal(disconnects[0]!.willReconnect, true);
      await waitFor(() => connections === 2, { description: 'reconnected through the (restored) network' });
    } finally {
      await client.close();
    }
  },
);
