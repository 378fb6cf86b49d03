import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayDelivery } from '@chatmesh/schemas';
import { TYPING_REQUEST_ID } from '../index.js';
import { device, startPresenceHarness } from './helpers/harness.js';

function sessionOrders(deliveries: readonly GatewayDelivery[]): Array<[string, string | null, string]> {
  return deliveries.flatMap((d) =>
    'chatmesh.gateway.SessionControl' in d.payload
      ? [
          [d.userId, d.deviceId, d.payload['chatmesh.gateway.SessionControl'].reasonCode] as [
            string,
            string | null,
            string,
          ],
        ]
      : [],
  );
}

function typingNotices(deliveries: readonly GatewayDelivery[]) {
  return deliveries.flatMap((d) =>
    'chatmesh.gateway.TypingNotice' in d.payload
      ? [{ to: d.userId, device: d.deviceId, ...d.payload['chatmesh.gateway.TypingNotice'] }]
      : [],
  );
}

test('the device list: registered on ONLINE, a new device past the limit and a removed device are disconnected, removal ends the sessions', async () => {
  const h = await startPresenceHarness({ env: { CHATMESH_MAX_DEVICES_PER_USER: '2' } });
  try {
    const phone = device('alice', 'phone', 'gw-1');
    const laptop = device('alice', 'laptop', 'gw-2');
    const tablet = device('alice', 'tablet', 'gw-1');
    await h.connect(phone);
    await h.connect(laptop);
    await h.settle();
    // A third device raced past the gateway's check: refused with DEVICE_LIMIT, not listed.
    await h.connect(tablet);
    await h.settle();
    assert.deepEqual(sessionOrders(await h.deliveries('gw-1')), [['alice', 'tablet', 'CM_ERR_DEVICE_LIMIT']]);
    assert.deepEqual(sessionOrders(await h.deliveries('gw-2')), []);
    const listed = async (): Promise<Array<[string, boolean]>> =>
      (await h.store.devices.list('alice'))
        .map((d) => [d.deviceId, d.removedAtMs !== null] as [string, boolean])
        .sort();
    assert.deepEqual(await listed(), [
      ['laptop', false],
      ['phone', false],
    ]);
    // A listed device reconnecting is fine.
    await h.disconnect(phone);
    await h.connect({ ...phone, connectionId: 'alice-phone-c2' });
    await h.settle();
    assert.equal(sessionOrders(await h.deliveries('gw-1')).length, 1);

    // The phone removes the laptop: the laptop's session on gw-2 is told to disconnect.
    await h.presenceEvent(phone, { 'chatmesh.presence.DeviceRemoval': { removedDeviceId: 'laptop', requestId: 'r1' } });
    await h.settle();
    assert.deepEqual(sessionOrders(await h.deliveries('gw-2')), [['alice', 'laptop', 'CM_ERR_DEVICE_REMOVED']]);
    assert.deepEqual(await listed(), [
      ['laptop', true],
      ['phone', false],
    ]);
    // The removed laptop connects again (say it raced the gateway's check): disconnected again, still removed.
    await h.disconnect(laptop);
    await h.connect({ ...laptop, connectionId: 'alice-laptop-c2' });
    await h.settle();
    assert.deepEqual(sessionOrders(await h.deliveries('gw-2')).at(-1), ['alice', 'laptop', 'CM_ERR_DEVICE_REMOVED']);
    // With the laptop removed there is room again: the tablet gets in.
    await h.connect({ ...tablet, connectionId: 'alice-tablet-c2' });
    // Removing a device that is not listed changes nothing.
    await h.presenceEvent(phone, { 'chatmesh.presence.DeviceRemoval': { removedDeviceId: 'watch', requestId: 'r2' } });
    await h.settle();
    assert.deepEqual(await listed(), [
      ['laptop', true],
      ['phone', false],
      ['tablet', false],
    ]);
    assert.equal(sessionOrders(await h.deliveries('gw-1')).length, 1, 'no new order on gw-1');
    assert.equal(sessionOrders(await h.deliveries('gw-2')).length, 2, 'no new order on gw-2');
  } finally {
    await h.close();
  }
});

test("typing reaches only the other members' online devices (one notice per user and gateway); a non-member is refused and relayed to nobody", async () => {
  const h = await startPresenceHarness({ gateways: ['gw-1', 'gw-2', 'gw-3'] });
  try {
    await h.chat('c1', ['alice', 'bob', 'carol']);
    await h.chat('c2', ['alice', 'mallory']);
    const alice = device('alice', 'phone', 'gw-1');
    await h.connect(alice);
    await h.connect(device('alice', 'laptop', 'gw-2'));
    await h.connect(device('bob', 'phone', 'gw-2'));
    await h.connect(device('bob', 'tablet', 'gw-2'));
    await h.connect(device('bob', 'laptop', 'gw-3'));
    await h.connect(device('mallory', 'phone', 'gw-3'));
    // carol is a member but offline.
    await h.settle();
    const at = h.now();
    await h.typing(alice, 'c1', true);
    await h.settle();
    assert.deepEqual(typingNotices(await h.deliveries('gw-1')), [], "alice's gateway: nothing (not even to herself)");
    const expected = { chatId: 'c1', typingUserId: 'alice', typing: true, expiresAtMs: at + 5_000 };
    assert.deepEqual(typingNotices(await h.deliveries('gw-2')), [{ to: 'bob', device: null, ...expected }]);
    assert.deepEqual(
      typingNotices(await h.deliveries('gw-3')),
      [{ to: 'bob', device: null, ...expected }],
      'mallory gets nothing',
    );

    // Mallory types in c1, which she is not in: an error for her device only.
    await h.typing(device('mallory', 'phone', 'gw-3'), 'c1', true);
    await h.settle();
    const toMallory = (await h.deliveries('gw-3')).filter((d) => d.userId === 'mallory');
    assert.equal(toMallory.length, 1);
    assert.deepEqual(toMallory[0]!.deviceId, 'phone');
    assert.ok('chatmesh.gateway.CommandResult' in toMallory[0]!.payload);
    const result = toMallory[0]!.payload['chatmesh.gateway.CommandResult'];
    assert.equal(result.requestId, TYPING_REQUEST_ID);
    assert.ok(result.requestId.startsWith('local:'));
    assert.equal(result.accepted, false);
    assert.deepEqual(
      { ...result.reason },
      {
        code: 'CM_ERR_PRESENCE_NOT_A_MEMBER',
        message: 'typing refused: you are not a member of this chat',
        retriable: false,
      },
    );
    assert.equal(typingNotices(await h.deliveries('gw-2')).length, 1, 'nothing relayed for mallory');
    assert.equal(typingNotices(await h.deliveries('gw-3')).length, 1);

    // A stale indicator (expired before it was handled) is dropped.
    await h.typing(alice, 'c1', true, { atMs: at - 10_000, ttlMs: 5_000 });
    await h.settle();
    assert.equal(typingNotices(await h.deliveries('gw-2')).length, 1, 'stale dropped');
  } finally {
    await h.close();
  }
});

test('a typing flood is limited per (user, chat); a stop after a relayed start always passes', async () => {
  const h = await startPresenceHarness({
    env: { CHATMESH_PRESENCE_TYPING_BURST: '3', CHATMESH_PRESENCE_TYPING_PER_MINUTE: '6' },
  });
  try {
    await h.chat('c1', ['alice', 'bob']);
    await h.chat('c2', ['alice', 'bob']);
    const alice = device('alice', 'phone', 'gw-1');
    await h.connect(alice);
    await h.connect(device('bob', 'phone', 'gw-2'));
    await h.settle();
    // The clock stands still: no refill during the flood.
    for (let i = 0; i < 20; i++) await h.typing(alice, 'c1', true);
    await h.typing(alice, 'c1', false);
    // Another chat has its own bucket.
    await h.typing(alice, 'c2', true);
    await h.settle();
    const relayed = typingNotices(await h.deliveries('gw-2'));
    assert.deepEqual(
      relayed.map((n) => [n.chatId, n.typing]),
      [
        ['c1', true],
        ['c1', true],
        ['c1', true],
        ['c1', false],
        ['c2', true],
      ],
    );
    const limited = (await h.metrics.getSingleMetric('chatmesh_presence_typing_total')?.get())?.values.find(
      (v) => v.labels['outcome'] === 'rate_limited',
    );
    assert.equal(limited?.value, 17);
    // Ten seconds later one token is back.
    h.advance(10_000);
    // (bob's gateway is alive: it renewed its lease meanwhile)
    await h.registry.refreshGateway({ gatewayId: 'gw-2', instanceId: 'gw-2-instance', ttlMs: 60_000 });
    await h.typing(alice, 'c1', true);
    await h.typing(alice, 'c1', true);
    await h.settle();
    assert.equal(typingNotices(await h.deliveries('gw-2')).length, 6);
  } finally {
    await h.close();
  }
});
