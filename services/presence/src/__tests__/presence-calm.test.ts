/**
 * Presence that never storms: a reconnect within the offline grace is invisible to watchers, the offline notice
 * still comes (with the true last seen) once the grace has passed, and a watcher's notices are bounded, coalesced
 * to each subject's latest state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@chatmesh/testing';
import { createNoticeThrottle } from '../index.js';
import { device, notices, startPresenceHarness } from './helpers/harness.js';

const subscribe = (targets: string[]) => ({
  'chatmesh.presence.PresenceSubscribe': { targetUserIds: targets, replace: true },
});

test('a reconnect within the offline grace sends watchers nothing; past the grace they see offline with the real last seen', async () => {
  const h = await startPresenceHarness({ env: { CHATMESH_PRESENCE_OFFLINE_GRACE_MS: '1000' } });
  try {
    await h.chat('c1', ['alice', 'bob']);
    const alice = device('alice');
    const bob = device('bob', 'phone', 'gw-2');
    // The harness's gateway leases live 1 s of its clock: the test renews them as the gateways would.
    const renewLeases = async () => {
      await h.lease('gw-1');
      await h.lease('gw-2');
    };
    await h.connect(alice);
    await h.connect(bob);
    await h.settle();
    await h.presenceEvent(alice, subscribe(['bob']));
    await h.settle();
    assert.deepEqual(notices(await h.deliveries('gw-1')), [
      { to: 'alice', device: 'phone', subject: 'bob', online: true, lastSeenMs: null },
    ]);

    // Five flaps, each back within the grace: the watcher hears nothing at all.
    let connection = bob;
    for (let flap = 0; flap < 5; flap++) {
      await h.disconnect(connection);
      await h.settle();
      h.advance(400);
      await renewLeases();
      connection = { ...bob, connectionId: `bob-phone-flap-${flap}` };
      await h.connect(connection);
      await h.settle();
    }
    h.advance(600);
    await renewLeases();
    // Let the sweeper (every 20 ms here) run a few times with the clock past every grace.
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(notices(await h.deliveries('gw-1')).length, 1, 'no notice for flaps within the grace');
    const text = await h.metrics.metrics();
    assert.ok(
      metricValue(text, 'chatmesh_presence_offline_deferred_total') >= 5,
      text
        .split('\n')
        .filter((l) => l.includes('deferred'))
        .join('\n'),
    );

    // Gone for good: nothing during the grace, then offline with the time he left.
    await h.disconnect(connection);
    const leftAt = h.now();
    await h.settle();
    h.advance(900);
    await renewLeases();
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(notices(await h.deliveries('gw-1')).length, 1, 'still online during the grace');
    h.advance(200);
    await waitFor(async () => notices(await h.deliveries('gw-1')).length === 2, {
      description: 'the offline notice after the grace',
    });
    assert.deepEqual(notices(await h.deliveries('gw-1'))[1], {
      to: 'alice',
      device: 'phone',
      subject: 'bob',
      online: false,
      lastSeenMs: leftAt,
    });
  } finally {
    await h.close();
  }
});

test("a watcher's notices are bounded: over the burst they wait, coalesced to each subject's latest state", async () => {
  const h = await startPresenceHarness({
    env: {
      CHATMESH_PRESENCE_NOTICES_PER_WATCHER_PER_SECOND: '10',
      CHATMESH_PRESENCE_NOTICES_PER_WATCHER_BURST: '3',
    },
  });
  try {
    const contacts = ['bob', 'carol', 'dave'];
    for (const contact of contacts) await h.chat(`c-${contact}`, ['alice', contact]);
    const alice = device('alice');
    await h.connect(alice);
    await h.presenceEvent(alice, subscribe(contacts));
    await h.settle();
    const snapshot = notices(await h.deliveries('gw-1')).length;
    assert.equal(snapshot, 3, 'the subscribe snapshot is not bounded');

    // Each contact flaps four times (24 transitions): alice gets the burst at once, the rest waits.
    for (let flap = 0; flap < 4; flap++) {
      for (const contact of contacts) {
        const phone = device(contact, 'phone', 'gw-2', `${contact}-c${flap}`);
        await h.connect(phone);
        await h.settle();
        await h.disconnect(phone);
        await h.settle();
      }
    }
    const immediate = notices(await h.deliveries('gw-1')).slice(snapshot);
    assert.equal(immediate.length, 3, 'the burst, then the bound');
    assert.ok(metricValue(await h.metrics.metrics(), 'chatmesh_presence_notices_coalesced_total') >= 21);

    // Tokens come back: what waited is sent, one notice per subject, each the subject's latest state (offline).
    h.advance(10_000);
    await waitFor(async () => notices(await h.deliveries('gw-1')).length === snapshot + 3 + 3, {
      description: 'the coalesced notices sent',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const later = notices(await h.deliveries('gw-1')).slice(snapshot + 3);
    assert.equal(later.length, 3, 'one per subject, not one per flap');
    assert.deepEqual(later.map((n) => n.subject).sort(), [...contacts].sort());
    assert.ok(
      later.every((n) => !n.online),
      'each is the latest state',
    );
  } finally {
    await h.close();
  }
});

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('notices offered concurrently to one watcher over the bound all arrive: none is lost to a race between queues', async () => {
  const sent: string[] = [];
  const throttle = createNoticeThrottle<string>(
    async (_watcher, notice) => {
      sent.push(notice.subjectUserId);
    },
    { ratePerSecond: 1_000, burst: 1 },
  );
  const watcher = { userId: 'w', deviceId: 'd', gatewayId: 'g', connectionId: 'c' };
  try {
    // All at once, as the partitions of several subjects do: the first takes the token, the others queue.
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        throttle.offer(watcher, { subjectUserId: `s${i}`, online: true, lastSeenMs: null }, 'online'),
      ),
    );
    await waitFor(() => sent.length === 50, { description: 'every notice sent', timeoutMs: 5_000 });
    assert.deepEqual([...sent].sort(), Array.from({ length: 50 }, (_, i) => `s${i}`).sort());
    assert.equal(throttle.waiting(), 0);
  } finally {
    await throttle.close();
  }
});
