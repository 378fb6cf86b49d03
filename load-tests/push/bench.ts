/**
 * The push benchmark: the push service (in this process, on the in-process bus and store) against the loopback
 * provider stand-ins, one provider at a time. Each user has one channel of the provider and gets one wake-up
 * request (its own chat, so nothing coalesces); it prints wake-ups per second per provider, from the first request
 * produced to the last wake-up the stand-in accepted (FCM: OAuth token cached, JSON over HTTP/1.1; APNs: one HTTP/2
 * session, ES256 token reused; Web Push: VAPID JWT and aes128gcm encryption per message, decrypted by the stand-in).
 *
 *   npm run bench:push -w @chatmesh/load-tests -- --requests 2000
 *
 * Runs are short (a few seconds per provider). See load-tests/README.md.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { pushService } from '@chatmesh/push';
import {
  makeApnsKey,
  makeServiceAccount,
  makeVapidKeys,
  startApnsStandIn,
  startFcmStandIn,
  startWebPushStandIn,
} from '@chatmesh/push/testing';
import { collectConfigSections, createTypedSink, silentObservability, startServiceGroup } from '@chatmesh/runtime';
import {
  createLocalCodec,
  TOPICS,
  type PushChannelCommand,
  type PushRequest,
  type RegisterPushChannel,
} from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import { readMachineInfo } from '../src/index.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    'key-concurrency': { type: 'string', default: '64' },
    providers: { type: 'string', default: 'fcm,apns,web_push' },
  },
});
const requests = Number(values.requests);
const providers = values.providers.split(',');

const account = makeServiceAccount('bench');
const key = makeApnsKey();
const vapid = makeVapidKeys();
const fcm = await startFcmStandIn({
  projectId: 'bench',
  clientEmail: account.client_email,
  privateKeyPem: account.private_key,
});
const apns = await startApnsStandIn({ ...key, topic: 'com.example.chat' });
const web = await startWebPushStandIn({ vapidPublicKey: vapid.publicKey });
const dir = mkdtempSync(join(tmpdir(), 'push-bench-'));
writeFileSync(join(dir, 'sa.json'), JSON.stringify(account));
writeFileSync(join(dir, 'key.p8'), key.keyPem);
writeFileSync(join(dir, 'vapid.json'), JSON.stringify(vapid));

const bus = createMemoryBus();
const codec = createLocalCodec();
const store = createMemoryStore();
const group = await startServiceGroup([pushService], {
  config: loadConfig({
    env: {
      CHATMESH_PUSH_KEY_CONCURRENCY: values['key-concurrency'],
      CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE: join(dir, 'sa.json'),
      CHATMESH_PUSH_FCM_BASE_URL: fcm.url,
      CHATMESH_PUSH_FCM_TOKEN_URL: fcm.tokenUrl,
      CHATMESH_PUSH_APNS_KEY_FILE: join(dir, 'key.p8'),
      CHATMESH_PUSH_APNS_KEY_ID: key.keyId,
      CHATMESH_PUSH_APNS_TEAM_ID: key.teamId,
      CHATMESH_PUSH_APNS_SANDBOX_URL: apns.url,
      CHATMESH_PUSH_APNS_PRODUCTION_URL: apns.url,
      CHATMESH_PUSH_WEB_PUSH_VAPID_FILE: join(dir, 'vapid.json'),
    },
    sections: collectConfigSections([pushService]),
  }),
  ...silentObservability('bench'),
  bus,
  codec,
  store,
  presence: createMemoryPresenceRegistry(),
});
await waitFor(() => group.isReady());
const sink = createTypedSink(codec, bus);
const none: RegisterPushChannel = {
  provider: 'FCM',
  token: null,
  apnsTopic: null,
  apnsEnvironment: null,
  endpoint: null,
  p256dh: null,
  auth: null,
};

const results: Record<string, { wakeUps: number; seconds: number; perSecond: number }> = {};
for (const provider of providers) {
  const users = Array.from({ length: requests }, (_, i) => `${provider}-user-${i}`);
  const received = () =>
    provider === 'fcm' ? fcm.received.length : provider === 'apns' ? apns.received.length : web.received.length;
  const start0 = received();
  for (const [i, user] of users.entries()) {
    const subscription = provider === 'web_push' ? web.subscribe() : null;
    const change: RegisterPushChannel =
      provider === 'fcm'
        ? { ...none, provider: 'FCM', token: `tok-${i}` }
        : provider === 'apns'
          ? {
              ...none,
              provider: 'APNS',
              token: i.toString(16).padStart(64, '0'),
              apnsTopic: 'com.example.chat',
              apnsEnvironment: 'sandbox',
            }
          : {
              ...none,
              provider: 'WEB_PUSH',
              endpoint: subscription!.endpoint,
              p256dh: subscription!.keys.p256dh,
              auth: subscription!.keys.auth,
            };
    const command: PushChannelCommand = {
      userId: user,
      deviceId: 'd',
      requestId: `b${i}`,
      atMs: Date.now(),
      change: { 'chatmesh.push.RegisterPushChannel': change },
    };
    await sink.send(TOPICS.pushRegistrations.name, user, command);
  }
  await waitFor(async () => (await store.pushChannels.list(users.at(-1)!)).length === 1, { timeoutMs: 60_000 });
  const started = performance.now();
  for (const [i, user] of users.entries()) {
    const request: PushRequest = {
      userId: user,
      requestId: `${user}/1`,
      chatId: `chat-${i}`,
      unreadCount: 1,
      newMessageCount: 1,
      upToInboxSeq: 1,
      targets: [],
      createdAtMs: Date.now(),
    };
    await sink.send(TOPICS.pushRequests.name, user, request);
  }
  await waitFor(() => received() - start0 >= requests, { timeoutMs: 120_000, description: `${provider} wake-ups` });
  const seconds = (performance.now() - started) / 1000;
  results[provider] = {
    wakeUps: requests,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round(requests / seconds),
  };
  console.log(
    `${provider.padEnd(9)} ${String(requests).padStart(6)} wake-ups in ${seconds.toFixed(2)} s: ${Math.round(requests / seconds)} wake-ups/s`,
  );
}
console.log(
  JSON.stringify(
    {
      benchmark: 'push',
      requests,
      keyConcurrency: Number(values['key-concurrency']),
      results,
      machine: readMachineInfo(),
    },
    null,
    2,
  ),
);
await group.stop();
await bus.close();
await Promise.all([fcm.close(), apns.close(), web.close()]);
