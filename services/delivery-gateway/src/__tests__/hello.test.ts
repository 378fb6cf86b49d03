/**
 * Issue 15: every upgrade is followed by `hello` (timed by chatmesh_gateway_upgrade_to_hello_seconds), and a
 * socket that closes between its 101 and its hello leaves nothing behind: no presence registration, no
 * ONLINE/OFFLINE (so presence never lists the device nor counts it against the device limit), and the
 * device connects normally afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TOPICS, type PresenceEvent } from '@chatmesh/schemas';
import { createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName, waitFor } from '@chatmesh/testing';
import { startHarness, TestClient, type Harness } from './harness.js';

/** Holds the open's cursor read of one user (after the device was registered) until released. */
interface OpenGate {
  userId: string | null;
  reached: Promise<void>;
  release: () => void;
}

function gatedStore(gate: OpenGate): ChatStore {
  const base = createMemoryStore();
  return {
    ...base,
    cursors: {
      ...base.cursors,
      async get(userId, deviceId) {
        if (userId === gate.userId) {
          gate.userId = null;
          await new Promise<void>((resolve) => {
            gate.release = resolve;
            reachedGate();
          });
        }
        return base.cursors.get(userId, deviceId);
      },
    },
  };
}

let reachedGate: () => void = () => {};
function armGate(gate: OpenGate, userId: string): void {
  gate.reached = new Promise((resolve) => (reachedGate = resolve));
  gate.userId = userId;
}

const gate: OpenGate = { userId: null, reached: Promise.resolve(), release: () => {} };
let h: Harness;
before(async () => {
  h = await startHarness({ withCore: false, store: gatedStore(gate) });
});
after(() => h?.close());

/** A histogram's observation count for one outcome. */
async function helloCount(outcome: 'sent' | 'closed'): Promise<number> {
  const metric = h.registry.getSingleMetric('chatmesh_gateway_upgrade_to_hello_seconds');
  const values = metric ? (await metric.get()).values : [];
  const count = values.find(
    (v) =>
      (v as { metricName?: string }).metricName === 'chatmesh_gateway_upgrade_to_hello_seconds_count' &&
      v.labels['outcome'] === outcome,
  );
  return count?.value ?? 0;
}

async function statusEvents(records: readonly { value: Buffer | null }[], userId: string): Promise<string[]> {
  const events = await Promise.all(records.map(async (r) => (await h.codec.decode<PresenceEvent>(r.value!)).value));
  return events
    .filter((e) => e.userId === userId && 'chatmesh.presence.DeviceStatusChange' in e.change)
    .map(
      (e) =>
        (e.change as { 'chatmesh.presence.DeviceStatusChange': { status: string } })[
          'chatmesh.presence.DeviceStatusChange'
        ].status,
    );
}

test('forty devices upgrading at once each get hello within a second, and the histogram counts them', async () => {
  const before = await helloCount('sent');
  const clients = await Promise.all(Array.from({ length: 40 }, (_, i) => h.connect(randomName('u'), `d${i}`)));
  // A hello missing after a second is the bug, not a slow machine (it takes ~1 ms here).
  await Promise.all(clients.map((c) => c.waitForFrame((f) => f.type === 'hello', 'hello', 1_000)));
  assert.ok(
    clients.every((c) => c.closeEvent === null),
    'no socket closed',
  );
  assert.equal((await helloCount('sent')) - before, 40);
  await Promise.all(clients.map((c) => c.close()));
});

test('a socket closed after its upgrade and before its hello leaves no registration and no ONLINE/OFFLINE', async () => {
  const user = randomName('gone');
  const events = await h.collect(TOPICS.presenceEvents.name);
  const closedBefore = await helloCount('closed');
  armGate(gate, user);
  const client = await TestClient.open(h.wsUrl, await h.token(user, 'phone'));
  // The open registered the device and now waits on its cursor: the device leaves before hello.
  await gate.reached;
  assert.equal((await h.presence.onlineDevices(user)).length, 1, 'registered while opening');
  client.terminate();
  await waitFor(async () => (await helloCount('closed')) === closedBefore + 1, {
    description: 'the close counted as closed before hello',
  });
  gate.release();
  await waitFor(async () => (await h.presence.onlineDevices(user)).length === 0, {
    description: 'the registration removed',
  });
  assert.equal(client.frames.length, 0, 'no hello');

  // The same device comes back: hello, ONLINE once; its close, OFFLINE once. Nothing of the failed socket.
  const again = await h.connect(user, 'phone');
  await again.waitForFrame((f) => f.type === 'hello', 'hello', 1_000);
  assert.deepEqual(
    (await h.presence.onlineDevices(user)).map((d) => d.deviceId),
    ['phone'],
  );
  await again.close();
  await waitFor(
    async () =>
      (await statusEvents(events, user)).at(-1) === 'OFFLINE' && (await statusEvents(events, user)).includes('ONLINE'),
    {
      description: 'ONLINE, then OFFLINE',
    },
  );
  assert.deepEqual(await statusEvents(events, user), ['ONLINE', 'OFFLINE']);
  assert.deepEqual(await h.store.devices.list(user), [], 'the gateway registers no device itself (presence does)');
});
