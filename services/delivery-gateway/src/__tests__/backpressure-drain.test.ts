import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { createTypedProducer } from '@chatmesh/runtime';
import { gatewayDeliveriesTopic, type GatewayDelivery } from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness } from './harness.js';

/** A live message for a user, with its content inline (so the gateway needs no store read). */
function messageDelivery(gatewayId: string, userId: string, inboxSeq: number, body: string): GatewayDelivery {
  return {
    gatewayId,
    userId,
    deviceId: null,
    createdAtMs: Date.now(),
    payload: {
      'chatmesh.gateway.InboxDelivery': {
        entry: {
          userId,
          inboxSeq,
          dedupeKey: `k${inboxSeq}`,
          chatId: 'chat-1',
          createdAtMs: Date.now(),
          item: {
            'chatmesh.inbox.ChatEventRef': {
              chatSeq: inboxSeq,
              kind: 'MESSAGE_RECEIVED',
              actorUserId: 'someone',
              actorDeviceId: 'd',
              clientMessageId: `m${inboxSeq}`,
              serverTimeMs: Date.now(),
              affectedUserIds: [],
            },
          },
        },
        content: { body, envelopes: [], attachments: [] },
      },
    },
  };
}

test('a client that stops reading is closed with 4008 while another keeps receiving', async () => {
  const h = await startHarness({ withCore: false, env: { CHATMESH_GATEWAY_MAX_BACKPRESSURE_BYTES: '1048576' } });
  try {
    const slowUser = randomName('slow');
    const fastUser = randomName('fast');
    const slow = await h.connect(slowUser, 'd');
    const fast = await h.connect(fastUser, 'd');
    await slow.waitForFrame((f) => f.type === 'syncDone', 'slow syncDone');
    await fast.waitForFrame((f) => f.type === 'syncDone', 'fast syncDone');
    // Stop reading: the kernel buffers fill, then the gateway's own buffer grows past its bound.
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();

    const producer = createTypedProducer(h.bus, h.codec);
    const topic = gatewayDeliveriesTopic(h.gatewayId).name;
    const body = 'x'.repeat(32 * 1024);
    const count = 400; // ~13 MB each: far beyond loopback socket buffers
    const round = 16; // 512 KB per round, under the bound: a reader that keeps up is never closed
    for (let start = 1; start <= count; start += round) {
      for (let seq = start; seq < start + round; seq++) {
        await producer.send(topic, slowUser, messageDelivery(h.gatewayId, slowUser, seq, body));
        await producer.send(topic, fastUser, messageDelivery(h.gatewayId, fastUser, seq, body));
      }
      await waitFor(() => fast.ofType('messageReceived').length === start + round - 1 || fast.closeEvent, {
        description: `the fast client received up to ${start + round - 1}`,
        timeoutMs: 30_000,
      });
      assert.equal(fast.closeEvent, null, 'the fast client stays open');
    }
    assert.deepEqual(
      fast.inboxSeqs(),
      Array.from({ length: count }, (_, i) => i + 1),
    );
    await waitFor(async () => (await h.metric('chatmesh_gateway_backpressure_closes_total')) === 1, {
      description: 'the slow client closed for backpressure',
      timeoutMs: 60_000,
    });
    assert.equal(await h.metric('chatmesh_gateway_closes_total', { close_code: '4008' }), 1);
    socket.resume();
    assert.equal((await slow.closed).code, 4008);
    assert.ok(slow.ofType('messageReceived').length < count, 'the slow client did not get everything');
    await fast.close();
  } finally {
    await h.close();
  }
});

test('drain on stop: reconnect frame, close 1012, devices unregistered, upgrades refused', async () => {
  const h = await startHarness({ withCore: false, env: { CHATMESH_GATEWAY_DRAIN_RETRY_AFTER_MS: '2500' } });
  try {
    const user = randomName('u');
    const c = await h.connect(user, 'd');
    await c.waitForFrame((f) => f.type === 'syncDone', 'syncDone');
    assert.equal((await h.presence.onlineDevices(user)).length, 1);
    await h.gateway.stop();
    const closed = await c.closed;
    assert.equal(closed.code, 1012);
    const reconnect = c.ofType('reconnect')[0];
    assert.deepEqual(reconnect, { type: 'reconnect', code: 'CM_ERR_COMMON_SHUTTING_DOWN', retryAfterMs: 2500 });
    assert.equal(c.frames.at(-1)?.type, 'reconnect');
    assert.deepEqual(await h.presence.onlineDevices(user), []);
    assert.equal(h.gateway.health().status, 'stopped');
    await assert.rejects(h.connect(user, 'd2'), 'the listen socket is closed');
  } finally {
    await h.close();
  }
});
