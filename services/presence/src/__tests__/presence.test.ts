import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PresenceError } from '@chatmesh/presence-registry';
import { waitFor } from '@chatmesh/testing';
import { createMemoryWatchStore, type WatchStore } from '../index.js';
import { device, LEASE_TTL_MS, notices, startPresenceHarness } from './helpers/harness.js';

const subscribe = (targets: string[], replace = true) => ({
  'chatmesh.presence.PresenceSubscribe': { targetUserIds: targets, replace },
});

test('a watcher gets the current state on subscribe, then each transition; targets sharing no chat, and watchers sharing none, get nothing', async () => {
  const h = await startPresenceHarness();
  try {
    await h.chat('c1', ['alice', 'bob']);
    await h.chat('c2', ['carol', 'alice']);
    const alice = device('alice');
    const bob = device('bob', 'phone', 'gw-2');
    const bobLaptop = device('bob', 'laptop', 'gw-1');
    const carol = device('carol', 'phone', 'gw-1');
    const mallory = device('mallory', 'phone', 'gw-2');
    await h.connect(alice);
    await h.connect(mallory);
    // Carol was online and left: her last seen is known.
    await h.connect(carol);
    h.advance(10);
    await h.disconnect(carol);
    const carolLeftAt = h.now();
    await h.settle();

    // Alice watches bob (offline, never seen), carol (offline), and dave (shares no chat).
    await h.presenceEvent(alice, subscribe(['bob', 'carol', 'dave']));
    // Mallory shares no chat with bob: the subscription is ignored.
    await h.presenceEvent(mallory, subscribe(['bob']));
    await h.settle();
    assert.deepEqual(notices(await h.deliveries('gw-1')), [
      { to: 'alice', device: 'phone', subject: 'bob', online: false, lastSeenMs: null },
      { to: 'alice', device: 'phone', subject: 'carol', online: false, lastSeenMs: carolLeftAt },
    ]);
    assert.deepEqual(notices(await h.deliveries('gw-2')), [], 'mallory learns nothing');

    // Bob's first device comes online: one notice; his second device changes nothing.
    h.advance(10);
    await h.connect(bob);
    await h.settle();
    await h.connect(bobLaptop);
    await h.settle();
    // Bob's phone leaves, his laptop is still online: nothing; then the laptop leaves: offline with last seen.
    h.advance(10);
    await h.disconnect(bob);
    await h.settle();
    h.advance(10);
    await h.disconnect(bobLaptop);
    const bobLeftAt = h.now();
    await h.settle();
    assert.deepEqual(notices(await h.deliveries('gw-1')).slice(2), [
      { to: 'alice', device: 'phone', subject: 'bob', online: true, lastSeenMs: null },
      { to: 'alice', device: 'phone', subject: 'bob', online: false, lastSeenMs: bobLeftAt },
    ]);
    assert.deepEqual(notices(await h.deliveries('gw-2')), [], 'mallory still learns nothing');
    assert.deepEqual(await h.store.devices.list('bob').then((l) => l.map((d) => d.deviceId).sort()), [
      'laptop',
      'phone',
    ]);

    // Alice's socket closes: her subscriptions go with it.
    await h.disconnect(alice);
    await h.settle();
    await h.connect(bob);
    await h.settle();
    assert.equal(notices(await h.deliveries('gw-1')).length, 4, 'no notice to a closed connection');
  } finally {
    await h.close();
  }
});

test('presenceVisible=false shows the subject offline without last seen to everyone, and turning it back shows the truth', async () => {
  const h = await startPresenceHarness();
  try {
    await h.chat('c1', ['alice', 'bob']);
    const alice = device('alice');
    const bob = device('bob', 'phone', 'gw-2');
    await h.connect(alice);
    await h.connect(bob);
    await h.settle();
    await h.presenceEvent(alice, subscribe(['bob']));
    await h.settle();
    await h.presenceEvent(bob, { 'chatmesh.presence.PrivacyChange': { readReceipts: null, presenceVisible: false } });
    await h.settle();
    assert.equal((await h.store.settings.get('bob')).presenceVisible, false);
    assert.equal((await h.store.settings.get('bob')).readReceipts, true, 'a null field is left as it was');
    // Hidden bob goes offline and online again: watchers are told nothing.
    await h.disconnect(bob);
    await h.settle();
    await h.connect(bob);
    await h.settle();
    // A new subscription sees the hidden state.
    const aliceTablet = device('alice', 'tablet');
    await h.connect(aliceTablet);
    await h.settle();
    await h.presenceEvent(aliceTablet, subscribe(['bob']));
    await h.settle();
    await h.presenceEvent(bob, { 'chatmesh.presence.PrivacyChange': { readReceipts: null, presenceVisible: true } });
    await h.settle();
    const seen = notices(await h.deliveries('gw-1'));
    assert.deepEqual(seen.slice(0, 3), [
      { to: 'alice', device: 'phone', subject: 'bob', online: true, lastSeenMs: null },
      { to: 'alice', device: 'phone', subject: 'bob', online: false, lastSeenMs: null },
      { to: 'alice', device: 'tablet', subject: 'bob', online: false, lastSeenMs: null },
    ]);
    // Visible again: both of alice's devices are told the truth (in either order).
    assert.deepEqual(
      seen.slice(3).sort((a, b) => a.device!.localeCompare(b.device!)),
      [
        { to: 'alice', device: 'phone', subject: 'bob', online: true, lastSeenMs: null },
        { to: 'alice', device: 'tablet', subject: 'bob', online: true, lastSeenMs: null },
      ],
    );
  } finally {
    await h.close();
  }
});

test('the sweeper turns the users of a gateway whose lease lapsed (no OFFLINE events) offline for their watchers', async () => {
  const h = await startPresenceHarness();
  try {
    await h.chat('c1', ['alice', 'bob', 'carol']);
    const alice = device('alice', 'phone', 'gw-1');
    await h.lease('gw-1');
    await h.connect(alice);
    // gw-2 holds bob and carol, then dies: its lease is never refreshed and no OFFLINE is produced.
    await h.lease('gw-2');
    await h.connect(device('bob', 'phone', 'gw-2'));
    await h.connect(device('carol', 'phone', 'gw-2'));
    await h.settle();
    await h.presenceEvent(alice, subscribe(['bob', 'carol']));
    await h.settle();
    assert.deepEqual(
      notices(await h.deliveries('gw-1')).map((n) => [n.subject, n.online]),
      [
        ['bob', true],
        ['carol', true],
      ],
    );
    const leaseEnd = h.now() + LEASE_TTL_MS;
    // Alice's own gateway keeps its lease.
    h.advance(LEASE_TTL_MS / 2);
    await h.registry.refreshGateway({ gatewayId: 'gw-1', instanceId: 'gw-1-instance', ttlMs: LEASE_TTL_MS });
    h.advance(LEASE_TTL_MS);
    await waitFor(async () => notices(await h.deliveries('gw-1')).length === 4, {
      description: 'alice told that bob and carol went offline',
    });
    const offline = notices(await h.deliveries('gw-1'))
      .slice(2)
      .sort((a, b) => a.subject.localeCompare(b.subject));
    assert.deepEqual(offline, [
      { to: 'alice', device: 'phone', subject: 'bob', online: false, lastSeenMs: leaseEnd },
      { to: 'alice', device: 'phone', subject: 'carol', online: false, lastSeenMs: leaseEnd },
    ]);
    // Alice (on a live lease) was re-checked and stays announced; bob coming back is a fresh transition.
    await h.lease('gw-2', 'gw-2-restarted');
    await h.connect(device('bob', 'phone', 'gw-2', 'bob-c2'));
    await h.settle();
    assert.deepEqual(notices(await h.deliveries('gw-1')).slice(4), [
      { to: 'alice', device: 'phone', subject: 'bob', online: true, lastSeenMs: null },
    ]);
  } finally {
    await h.close();
  }
});

test('a watcher removed from the only shared chat stops getting notices, and its new subscriptions are ignored', async () => {
  const h = await startPresenceHarness();
  try {
    await h.chat('c1', ['alice', 'bob']);
    const alice = device('alice');
    const bob = device('bob', 'phone', 'gw-2');
    await h.connect(alice);
    await h.settle();
    await h.presenceEvent(alice, subscribe(['bob']));
    await h.settle();
    assert.equal(notices(await h.deliveries('gw-1')).length, 1, 'the current state');
    // Ingest removes alice from c1 (at chat seq 7).
    await h.store.directory.removeMember('c1', 'alice', 7);
    await h.connect(bob);
    await h.settle();
    await h.presenceEvent(alice, subscribe(['bob']));
    await h.settle();
    await h.disconnect(bob);
    await h.settle();
    assert.equal(notices(await h.deliveries('gw-1')).length, 1, 'nothing after the removal');
    assert.equal(await h.store.devices.list('bob').then((l) => l.length), 1, "bob's events were handled");
  } finally {
    await h.close();
  }
});

test('a notice that could not be sent is not lost: the transition is undone and the retried record announces it', async () => {
  const memory = createMemoryWatchStore();
  let failures = 1;
  const flaky: WatchStore = {
    ...memory,
    async watchersOf(subject, nowMs) {
      if (subject === 'bob' && failures-- > 0) throw new PresenceError('CM_ERR_PRESENCE_UNAVAILABLE', 'Redis is down');
      return memory.watchersOf(subject, nowMs);
    },
  };
  const h = await startPresenceHarness({ watchStore: flaky });
  try {
    await h.chat('c1', ['alice', 'bob']);
    const alice = device('alice');
    await h.connect(alice);
    await h.settle();
    await h.presenceEvent(alice, subscribe(['bob']));
    await h.settle();
    await h.connect(device('bob', 'phone', 'gw-2'));
    await h.settle();
    assert.equal(failures, -1, 'the first attempt failed');
    assert.deepEqual(notices(await h.deliveries('gw-1')), [
      { to: 'alice', device: 'phone', subject: 'bob', online: false, lastSeenMs: null },
      { to: 'alice', device: 'phone', subject: 'bob', online: true, lastSeenMs: null },
    ]);
  } finally {
    await h.close();
  }
});
