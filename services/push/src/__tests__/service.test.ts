import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { collectConfigSections, createTypedSink, startServiceGroup, silentObservability } from '@chatmesh/runtime';
import { createLocalCodec, TOPICS, type PushChannelCommand, type PushRequest } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import { pushService } from '../index.js';

test('push registers channels from push.registrations, wakes through the local inbox, and reports its providers', async () => {
  const bus = createMemoryBus();
  const store = createMemoryStore();
  const codec = createLocalCodec();
  try {
    const group = await startServiceGroup([pushService], {
      config: loadConfig({ env: {}, sections: collectConfigSections([pushService]) }),
      ...silentObservability('test'),
      bus,
      codec,
      store,
      presence: createMemoryPresenceRegistry(),
    });
    const topics = await bus.admin.listTopics();
    for (const name of [...pushService.consumes, TOPICS.pushRequests.name]) {
      assert.ok(topics.includes(name) && topics.includes(`${name}.dlq`), `${name} and its twin exist`);
    }
    await waitFor(() => group.isReady());
    const details = group.health()['push']?.details as { providers: Record<string, string> };
    assert.equal(details.providers['inbox'], 'enabled');
    assert.match(details.providers['fcm']!, /^disabled: no service account/);
    assert.match(details.providers['apns']!, /^disabled: no auth key/);
    assert.match(details.providers['web_push']!, /^disabled: no VAPID keys/);

    const sink = createTypedSink(codec, bus);
    const registration: PushChannelCommand = {
      userId: 'bob',
      deviceId: 'page',
      requestId: 'http:1',
      atMs: Date.now(),
      change: {
        'chatmesh.push.RegisterPushChannel': {
          provider: 'INBOX',
          token: null,
          apnsTopic: null,
          apnsEnvironment: null,
          endpoint: null,
          p256dh: null,
          auth: null,
        },
      },
    };
    await sink.send(TOPICS.pushRegistrations.name, 'bob', registration);
    await waitFor(async () => (await store.pushChannels.list('bob')).length === 1);
    const push: PushRequest = {
      userId: 'bob',
      requestId: 'bob/3',
      chatId: 'c-1',
      unreadCount: 2,
      newMessageCount: 1,
      upToInboxSeq: 3,
      targets: [],
      createdAtMs: Date.now(),
    };
    await sink.send(TOPICS.pushRequests.name, 'bob', push);
    await sink.send(TOPICS.pushRequests.name, 'bob', { ...push, requestId: 'bob/4', unreadCount: 3 });
    await waitFor(async () => (group.health()['push']?.details as { requests: number }).requests === 2);
    const inbox = await store.pushInbox.list('bob', 10);
    assert.deepEqual(
      inbox.map((e) => [e.deviceId, e.chatId, e.badge, e.requestId]),
      [['page', 'c-1', 2, 'bob/3']],
      'the second request of the chat falls in the window',
    );
    await group.stop();
    assert.equal(group.isReady(), false);
  } finally {
    await bus.close();
  }
});
