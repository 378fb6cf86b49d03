/**
 * The push service as stack mode runs it (its own process, `src/main.ts`) on real Kafka, Cassandra, Redis and the
 * schema registry, with the provider stand-ins on loopback: channels registered over push.registrations, wake-ups
 * for offline devices only, one per chat and window on each device's provider, dead tokens deleted, and a SIGKILL
 * mid-stream that loses nothing (records are consumed again; a wake-up may repeat, at most once more per window).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, createNamespacedBus, type Bus } from '@chatmesh/bus';
import { createRedisPresenceRegistry, type PresenceRegistry } from '@chatmesh/presence-registry';
import { createTypedSink, ensureTopics, type TypedSink } from '@chatmesh/runtime';
import {
  createRegistryCodec,
  TOPICS,
  type PresenceEvent,
  type PushChannelCommand,
  type PushRequest,
  type RegisterPushChannel,
} from '@chatmesh/schemas';
import { applyMigrations, createCassandraClient, createCassandraStore, type ChatStore } from '@chatmesh/store';
import { randomKeyspaceName, randomName, startStackServers, waitFor, type StackServers } from '@chatmesh/testing';
import {
  makeApnsKey,
  makeServiceAccount,
  makeVapidKeys,
  startApnsStandIn,
  startFcmStandIn,
  startWebPushStandIn,
  type ApnsStandIn,
  type FcmStandIn,
  type WebPushStandIn,
} from '../testing/index.js';

const PUSH_MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const TOPIC = 'com.example.chat';

let servers: StackServers;
let bus: Bus;
let store: ChatStore;
let presence: PresenceRegistry;
let fcm: FcmStandIn;
let apns: ApnsStandIn;
let web: WebPushStandIn;
let env: Record<string, string>;
let sink: TypedSink;
let codec: ReturnType<typeof createRegistryCodec>;
const children = new Set<ChildProcess>();

before(async () => {
  servers = await startStackServers();
  const endpoints = servers.endpoints(randomKeyspaceName('push'));
  const admin = createCassandraClient({
    contactPoints: [...endpoints.cassandraContactPoints],
    localDataCenter: endpoints.cassandraLocalDc,
  });
  await applyMigrations(admin, { keyspace: endpoints.keyspace });
  await admin.shutdown();
  store = await createCassandraStore({
    contactPoints: [...endpoints.cassandraContactPoints],
    localDataCenter: endpoints.cassandraLocalDc,
    keyspace: endpoints.keyspace,
  });
  bus = createNamespacedBus(
    createKafkaBus({ brokers: [...endpoints.kafkaBrokers], clientId: 'push-it', logLevel: 'nothing' }),
    endpoints.namespace,
  );
  codec = createRegistryCodec({ url: endpoints.schemaRegistryUrl, clientId: 'push-it' });
  await ensureTopics(bus, codec, [TOPICS.pushRegistrations, TOPICS.pushRequests, TOPICS.presenceEvents]);
  sink = createTypedSink(codec, bus);
  presence = await createRedisPresenceRegistry({ url: endpoints.redisUrl });

  const account = makeServiceAccount('proj-it');
  const key = makeApnsKey();
  const vapid = makeVapidKeys();
  fcm = await startFcmStandIn({
    projectId: 'proj-it',
    clientEmail: account.client_email,
    privateKeyPem: account.private_key,
  });
  apns = await startApnsStandIn({ ...key, topic: TOPIC });
  web = await startWebPushStandIn({ vapidPublicKey: vapid.publicKey });
  const dir = mkdtempSync(join(tmpdir(), 'push-it-'));
  writeFileSync(join(dir, 'service-account.json'), JSON.stringify(account));
  writeFileSync(join(dir, 'AuthKey.p8'), key.keyPem);
  writeFileSync(join(dir, 'vapid.json'), JSON.stringify(vapid));
  env = {
    CHATMESH_MODE: 'stack',
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    CHATMESH_NAMESPACE: endpoints.namespace,
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    CASSANDRA_CONTACT_POINTS: endpoints.cassandraContactPoints.join(','),
    CASSANDRA_LOCAL_DC: endpoints.cassandraLocalDc,
    CASSANDRA_KEYSPACE: endpoints.keyspace,
    REDIS_URL: endpoints.redisUrl,
    CHATMESH_HTTP_PORT: '0',
    CHATMESH_LOG_LEVEL: 'warn',
    CHATMESH_PUSH_COALESCE_WINDOW_MS: '600000',
    CHATMESH_PUSH_RETRY_INITIAL_DELAY_MS: '50',
    CHATMESH_PUSH_FCM_SERVICE_ACCOUNT_FILE: join(dir, 'service-account.json'),
    CHATMESH_PUSH_FCM_BASE_URL: fcm.url,
    CHATMESH_PUSH_FCM_TOKEN_URL: fcm.tokenUrl,
    CHATMESH_PUSH_APNS_KEY_FILE: join(dir, 'AuthKey.p8'),
    CHATMESH_PUSH_APNS_KEY_ID: key.keyId,
    CHATMESH_PUSH_APNS_TEAM_ID: key.teamId,
    CHATMESH_PUSH_APNS_SANDBOX_URL: apns.url,
    CHATMESH_PUSH_APNS_PRODUCTION_URL: apns.url,
    CHATMESH_PUSH_WEB_PUSH_VAPID_FILE: join(dir, 'vapid.json'),
  };
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.allSettled([fcm?.close(), apns?.close(), web?.close()]);
  await presence?.close?.();
  await bus?.close();
  await store?.close();
  await servers?.stop();
});

/** Starts the push process; resolves once it logged its ops server (it then joins its groups). */
function startPush(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', PUSH_MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  child.once('exit', (code, signal) => {
    if (signal !== 'SIGKILL' && signal !== 'SIGTERM' && code !== 0)
      console.error(`push exited ${code}: ${log.slice(-4000)}`);
  });
  return child;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

const none: RegisterPushChannel = {
  provider: 'FCM',
  token: null,
  apnsTopic: null,
  apnsEnvironment: null,
  endpoint: null,
  p256dh: null,
  auth: null,
};

async function register(userId: string, deviceId: string, change: Partial<RegisterPushChannel>): Promise<void> {
  const command: PushChannelCommand = {
    userId,
    deviceId,
    requestId: `it:${randomUUID()}`,
    atMs: Date.now(),
    change: { 'chatmesh.push.RegisterPushChannel': { ...none, ...change } },
  };
  await sink.send(TOPICS.pushRegistrations.name, userId, command);
}

function wakeUpRequest(userId: string, chatId: string, seq: number): PushRequest {
  return {
    userId,
    requestId: `${userId}/${seq}`,
    chatId,
    unreadCount: seq,
    newMessageCount: 1,
    upToInboxSeq: seq,
    targets: [],
    createdAtMs: Date.now(),
  };
}

const hex = (n: number) =>
  randomUUID()
    .replaceAll('-', '')
    .padEnd(64, String(n % 10))
    .slice(0, 64);

test(
  'one wake-up per chat and window on each offline device’s provider, none online, dead tokens and removed devices’ channels deleted',
  { timeout: 240_000 },
  async () => {
    const push = startPush();
    const bob = randomName('bob');
    const phone = `fcm-${randomUUID().slice(0, 6)}`;
    const iphone = hex(1);
    const browser = web.subscribe();
    const deadToken = hex(2);
    await register(bob, 'phone', { provider: 'FCM', token: phone });
    await register(bob, 'iphone', { provider: 'APNS', token: iphone, apnsTopic: TOPIC, apnsEnvironment: 'sandbox' });
    await register(bob, 'browser', {
      provider: 'WEB_PUSH',
      endpoint: browser.endpoint,
      p256dh: browser.keys.p256dh,
      auth: browser.keys.auth,
    });
    await register(bob, 'laptop', { provider: 'FCM', token: 'laptop-token' });
    await register(bob, 'old-ipad', {
      provider: 'APNS',
      token: deadToken,
      apnsTopic: TOPIC,
      apnsEnvironment: 'production',
    });
    apns.script.always(deadToken, { status: 410, reason: 'Unregistered' });
    await waitFor(async () => (await store.pushChannels.list(bob)).length === 5, {
      timeoutMs: 60_000,
      description: 'channels registered',
    });
    // The laptop is connected: it gets its messages over its socket, no wake-up.
    await presence.registerDevice({
      userId: bob,
      deviceId: 'laptop',
      gatewayId: 'gw-it',
      connectionId: 'c1',
      ttlMs: 600_000,
    });

    for (let seq = 1; seq <= 6; seq++)
      await sink.send(TOPICS.pushRequests.name, bob, wakeUpRequest(bob, seq <= 3 ? 'chat-a' : 'chat-b', seq));
    const wokenFcm = () => fcm.received.filter((r) => r.message.token === phone);
    const wokenApns = () => apns.received.filter((r) => r.deviceToken === iphone);
    const wokenWeb = () => web.received.filter((r) => r.subscriptionId === browser.id);
    await waitFor(() => wokenFcm().length === 2 && wokenApns().length === 2 && wokenWeb().length === 2, {
      timeoutMs: 90_000,
      description: 'a wake-up per chat on each provider',
    });
    await waitFor(async () => !(await store.pushChannels.list(bob)).some((c) => c.deviceId === 'old-ipad'), {
      timeoutMs: 30_000,
      description: 'the dead APNs token deleted',
    });
    // Give the coalesced requests time to be handled: nothing more may arrive.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(
      wokenFcm().map((r) => [r.message.data?.['chatId'], r.message.android?.collapse_key]),
      [
        ['chat-a', 'chat:chat-a'],
        ['chat-b', 'chat:chat-b'],
      ],
    );
    assert.deepEqual(
      wokenApns().map((r) => [r.payload.chatId, r.headers['apns-collapse-id'], r.payload.aps.badge]),
      [
        ['chat-a', 'chat:chat-a', 1],
        ['chat-b', 'chat:chat-b', 4],
      ],
    );
    assert.deepEqual(
      wokenWeb().map((r) => r.payload),
      [
        { type: 'wake', chatId: 'chat-a', badge: 1 },
        { type: 'wake', chatId: 'chat-b', badge: 4 },
      ],
      'decrypted by the stand-in with the subscription key',
    );
    assert.equal(
      fcm.received.filter((r) => r.message.token === 'laptop-token').length,
      0,
      'the online laptop is not woken',
    );
    assert.deepEqual(
      (await store.pushChannels.list(bob)).map((c) => c.deviceId),
      ['browser', 'iphone', 'laptop', 'phone'],
    );
    // Bob removes his iPhone (presence's device removal): its channel goes with it.
    const removal: PresenceEvent = {
      userId: bob,
      deviceId: 'phone',
      gatewayId: 'gw-it',
      connectionId: 'http',
      atMs: Date.now(),
      change: { 'chatmesh.presence.DeviceRemoval': { removedDeviceId: 'iphone', requestId: 'http:removal' } },
    };
    await sink.send(TOPICS.presenceEvents.name, bob, removal);
    await waitFor(async () => !(await store.pushChannels.list(bob)).some((c) => c.deviceId === 'iphone'), {
      timeoutMs: 60_000,
      description: 'the removed device’s channel deleted',
    });
    await stop(push, 'SIGTERM');
  },
);

test(
  'a push process SIGKILLed mid-stream loses no wake-up; a repeat is at most one more per window',
  { timeout: 300_000 },
  async () => {
    const users = Array.from({ length: 30 }, () => randomName('carol'));
    for (const user of users) await register(user, 'phone', { provider: 'FCM', token: `tok-${user}` });
    let push = startPush();
    await waitFor(async () => (await store.pushChannels.list(users.at(-1)!)).length === 1, {
      timeoutMs: 60_000,
      description: 'channels registered',
    });
    // A slow provider keeps requests in flight when the process dies.
    fcm.delayMs = 150;
    for (const user of users) {
      await sink.send(TOPICS.pushRequests.name, user, wakeUpRequest(user, 'chat-x', 1));
      await sink.send(TOPICS.pushRequests.name, user, wakeUpRequest(user, 'chat-x', 2));
    }
    const wokenUsers = () =>
      new Set(fcm.received.filter((r) => r.message.token.startsWith('tok-carol')).map((r) => r.message.token));
    await waitFor(() => wokenUsers().size >= 5, { timeoutMs: 90_000, description: 'some wake-ups before the kill' });
    await stop(push, 'SIGKILL');
    const beforeRestart = wokenUsers().size;
    assert.ok(beforeRestart < users.length, `killed mid-stream (${beforeRestart} of ${users.length} woken)`);
    fcm.delayMs = 0;
    push = startPush();
    await waitFor(() => wokenUsers().size === users.length, {
      timeoutMs: 120_000,
      description: 'every user woken after the restart',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const user of users) {
      const count = fcm.received.filter((r) => r.message.token === `tok-${user}`).length;
      assert.ok(count >= 1 && count <= 2, `${user}: ${count} wake-ups (one, or one more after the restart)`);
    }
    await stop(push, 'SIGTERM');
  },
);

test(
  'a request whose provider keeps failing goes to push.requests.dlq with its code; the others are served',
  { timeout: 180_000 },
  async () => {
    const push = startPush();
    const dave = randomName('dave');
    await register(dave, 'phone', { provider: 'FCM', token: `down-${dave}` });
    await register(dave, 'tablet', { provider: 'FCM', token: `up-${dave}` });
    fcm.script.always(`down-${dave}`, { status: 503, reason: 'UNAVAILABLE' });
    await waitFor(async () => (await store.pushChannels.list(dave)).length === 2, { timeoutMs: 60_000 });
    const letters: Array<{ errorCode: string; errorMessage: string; originalKey: string | null }> = [];
    const dlq = await bus.subscribe({
      groupId: `push-it-dlq-${randomUUID()}`,
      topics: [`${TOPICS.pushRequests.name}.dlq`],
      deadLetter: { encode: async () => Buffer.alloc(0) },
      handler: async (record) => {
        const letter = (
          await codec.decode<{ errorCode: string; errorMessage: string; originalKey: string | null }>(record.value!)
        ).value;
        if (letter.originalKey === dave) letters.push(letter);
      },
    });
    try {
      await sink.send(TOPICS.pushRequests.name, dave, wakeUpRequest(dave, 'chat-d', 1));
      await waitFor(() => letters.length === 1, { timeoutMs: 120_000, description: 'the dead letter' });
      assert.equal(letters[0]!.errorCode, 'CM_ERR_PUSH_PROVIDER_UNAVAILABLE');
      assert.match(letters[0]!.errorMessage, /fcm http_503 \(device phone\)/);
      assert.equal(
        fcm.answered.filter((a) => a.token === `down-${dave}`).length,
        5,
        'CHATMESH_PUSH_MAX_ATTEMPTS attempts',
      );
      assert.equal(
        fcm.received.filter((r) => r.message.token === `up-${dave}`).length,
        1,
        'the healthy device was woken',
      );
    } finally {
      await dlq.stop();
      await stop(push, 'SIGTERM');
    }
  },
);
