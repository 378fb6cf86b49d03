/**
 * chatmesh_gateway_stored_to_delivered_seconds: a message delivered live is observed once per device it
 * reached (path inbox), with a latency from its server time; entries a device replays on connect are not.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { randomName } from '@chatmesh/testing';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

/** One series of the histogram (`_count` or `_sum`) for a path. */
async function series(suffix: 'count' | 'sum', path: string): Promise<number> {
  const metric = h.registry.getSingleMetric('chatmesh_gateway_stored_to_delivered_seconds');
  const values = metric ? (await metric.get()).values : [];
  const found = values.find(
    (v) =>
      (v as { metricName?: string }).metricName === `chatmesh_gateway_stored_to_delivered_seconds_${suffix}` &&
      v.labels['path'] === path,
  );
  return found?.value ?? 0;
}

test('live messages are timed from their server time; a replay is not', async () => {
  const alice = randomName('alice');
  const bob = randomName('bob');
  const a = await h.connect(alice, 'phone');
  const b = await h.connect(bob, 'laptop');
  await b.waitForFrame((f) => f.type === 'syncDone', 'bob syncDone');
  const chatId = directChatId(alice, bob);
  a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'direct', members: [bob] });
  await b.waitForFrame((f) => f.type === 'chatCreated', 'chatCreated at bob');

  const before = await series('count', 'inbox');
  const startedMs = Date.now();
  a.send({ type: 'send', requestId: 's', chatId, clientMessageId: 'm1', body: 'timed' });
  await b.waitForFrame((f) => f.type === 'messageReceived', 'messageReceived at bob');
  await a.waitForFrame((f) => f.type === 'messageReceived', 'own echo at alice');
  // Bob's laptop and Alice's phone each got it live.
  assert.equal((await series('count', 'inbox')) - before, 2);
  const sum = await series('sum', 'inbox');
  assert.ok(sum >= 0 && sum <= (Date.now() - startedMs) / 1000 + 1, `sum ${sum}`);

  // A second device of Bob's replays the message from the store: not a live delivery.
  const b2 = await h.connect(bob, 'tablet');
  await b2.waitForFrame((f) => f.type === 'messageReceived', 'replayed at the tablet');
  await b2.waitForFrame((f) => f.type === 'syncDone', 'tablet syncDone');
  assert.equal((await series('count', 'inbox')) - before, 2);
  await Promise.all([a.close(), b.close(), b2.close()]);
});
