import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createKafkaBus, createNamespacedBus, type Bus, type BusRecord } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import { createRedisPresenceRegistry, type PresenceRegistry } from '@chatmesh/presence-registry';
import {
  collectConfigSections,
  createTypedProducer,
  startServiceGroup,
  type ServiceGroup,
  silentObservability,
} from '@chatmesh/runtime';
import {
  createRegistryCodec,
  gatewayDeliveriesTopic,
  TOPICS,
  type EphemeralEvent,
  type GatewayDelivery,
  type PresenceEvent,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { createMigratedCassandraStore, type ChatStore } from '@chatmesh/store';
import { randomKeyspaceName, randomName, startStackServers, waitFor, type StackServers } from '@chatmesh/testing';
import { Redis } from 'ioredis';
import { presenceService } from '../index.js';

const SWEEP_INTERVAL_MS = 500;
const LEASE_TTL_MS = 3_000;
const id = (prefix: string): string => randomName(prefix).replace(/[^A-Za-z0-9_-]/g, '-');

let servers: StackServers;
let bus: Bus;
let codec: SchemaCodec;
let store: ChatStore;
let registry: PresenceRegistry;
let group: ServiceGroup;
const keyPrefix = id('presence-it');
const gwA = id('gwa');
const gwB = id('gwb');
const collected = new Map<string, BusRecord[]>();

before(async () => {
  servers = await startStackServers();
  const { kafka, registry: schemaRegistry, cassandra, redis } = servers;
  const keyspace = randomKeyspaceName('presence');
  const { namespace } = servers.endpoints(keyspace);
  store = await createMigratedCassandraStore({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
    keyspace,
  });
  bus = createNamespacedBus(
    createKafkaBus({ brokers: [...kafka.brokers], clientId: 'presence-it', logLevel: 'nothing' }),
    namespace,
  );
  codec = createRegistryCodec({ url: schemaRegistry.url, clientId: 'presence-it' });
  registry = await createRedisPresenceRegistry({ url: redis.url, keyPrefix: `${keyPrefix}:registry:` });
  // Every topic in one call first (a second createTopics through one admin can race the first on a fresh broker).
  await bus.admin.createTopics([
    TOPICS.presenceEvents,
    TOPICS.ephemeral,
    gatewayDeliveriesTopic(gwA),
    gatewayDeliveriesTopic(gwB),
  ]);
  for (const g of [gwA, gwB])
    collected.set(g, await collectRecords(bus, gatewayDeliveriesTopic(g).name, { fromBeginning: true }));
  const env = {
    CHATMESH_MODE: 'stack',
    KAFKA_BROKERS: kafka.brokers.join(','),
    CHATMESH_NAMESPACE: namespace,
    SCHEMA_REGISTRY_URL: schemaRegistry.url,
    CASSANDRA_CONTACT_POINTS: cassandra.contactPoints.join(','),
    CASSANDRA_LOCAL_DC: cassandra.localDataCenter,
    CASSANDRA_KEYSPACE: keyspace,
    REDIS_URL: redis.url,
    CHATMESH_HTTP_PORT: '0',
    CHATMESH_PRESENCE_SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
    CHATMESH_PRESENCE_KEY_PREFIX: keyPrefix,
  };
  group = await startServiceGroup([presenceService], {
    config: loadConfig({ env, sections: collectConfigSections([presenceService]) }),
    ...silentObservability('presence-it'),
    bus,
    codec,
    store,
    presence: registry,
  });
  await waitFor(() => group.isReady(), { description: 'presence ready', timeoutMs: 120_000 });
});

after(async () => {
  await group?.stop();
  await Promise.allSettled([bus?.close(), store?.close(), registry?.close()]);
  if (servers) {
    const client = new Redis(servers.redis.url);
    const keys = await client.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  }
  await servers?.stop();
});

async function deliveriesTo(gatewayId: string, userId: string): Promise<GatewayDelivery[]> {
  const records = collected.get(gatewayId) ?? [];
  const decoded = await Promise.all(records.map(async (r) => (await codec.decode<GatewayDelivery>(r.value!)).value));
  return decoded.filter((d) => d.userId === userId);
}

async function member(chatId: string, userIds: readonly string[]): Promise<void> {
  for (const userId of userIds) {
    await store.directory.addMember({
      chatId,
      userId,
      role: 'member',
      joinedSeq: 1,
      removedSeq: null,
      addedBy: userIds[0]!,
    });
  }
}

const producer = () => createTypedProducer(bus, codec);

async function connect(
  userId: string,
  deviceId: string,
  gatewayId: string,
  instanceId: string,
): Promise<PresenceEvent> {
  const connectionId = id('conn');
  await registry.registerDevice({
    userId,
    deviceId,
    gatewayId,
    connectionId,
    gatewayInstanceId: instanceId,
    ttlMs: 600_000,
  });
  const event: PresenceEvent = {
    userId,
    deviceId,
    gatewayId,
    connectionId,
    atMs: Date.now(),
    change: { 'chatmesh.presence.DeviceStatusChange': { status: 'ONLINE', ttlMs: LEASE_TTL_MS, lastSeenMs: null } },
  };
  await producer().send(TOPICS.presenceEvents.name, userId, event);
  return event;
}

test('a gateway whose lease lapses without OFFLINE events: its users turn offline for their watchers within TTL + sweep interval', async () => {
  const alice = id('alice');
  const bob = id('bob');
  await member(id('chat'), [alice, bob]);
  const instanceA = id('inst');
  const instanceB = id('inst');
  await registry.acquireGateway({ gatewayId: gwA, instanceId: instanceA, ttlMs: 120_000 });
  await registry.acquireGateway({ gatewayId: gwB, instanceId: instanceB, ttlMs: LEASE_TTL_MS });
  const aliceOnline = await connect(alice, 'phone', gwA, instanceA);
  await connect(bob, 'phone', gwB, instanceB);
  // Mallory shares no chat with bob: her subscription must be ignored.
  const mallory = id('mallory');
  const malloryOnline = await connect(mallory, 'phone', gwA, instanceA);
  await producer().send(TOPICS.presenceEvents.name, mallory, {
    ...malloryOnline,
    change: { 'chatmesh.presence.PresenceSubscribe': { targetUserIds: [bob], replace: true } },
  });
  // Bob's ONLINE was handled once his device is listed.
  await waitFor(async () => (await store.devices.list(bob)).length === 1, {
    description: "bob's device listed",
    timeoutMs: 30_000,
  });
  await producer().send(TOPICS.presenceEvents.name, alice, {
    ...aliceOnline,
    change: { 'chatmesh.presence.PresenceSubscribe': { targetUserIds: [bob], replace: true } },
  });
  const notice = async (i: number) => {
    const d = (await deliveriesTo(gwA, alice))[i];
    return d && 'chatmesh.gateway.PresenceNotice' in d.payload
      ? d.payload['chatmesh.gateway.PresenceNotice']
      : undefined;
  };
  await waitFor(async () => (await notice(0)) !== undefined, {
    description: 'alice told bob is online',
    timeoutMs: 30_000,
  });
  assert.deepEqual({ ...(await notice(0))! }, { subjectUserId: bob, online: true, lastSeenMs: null });
  // Gateway B now dies: one last lease refresh, then nothing (no OFFLINE, no unregister).
  const lastRefreshAt = Date.now();
  assert.equal(
    await registry.refreshGateway({ gatewayId: gwB, instanceId: instanceB, ttlMs: LEASE_TTL_MS }),
    'renewed',
  );
  await waitFor(async () => (await notice(1)) !== undefined, {
    description: 'alice told bob went offline',
    timeoutMs: LEASE_TTL_MS + SWEEP_INTERVAL_MS + 10_000,
  });
  const toldAt = Date.now();
  const offline = (await notice(1))!;
  assert.equal(offline.subjectUserId, bob);
  assert.equal(offline.online, false);
  assert.ok(
    offline.lastSeenMs !== null && offline.lastSeenMs >= lastRefreshAt + LEASE_TTL_MS - 50,
    'last seen = lease end',
  );
  const bound = LEASE_TTL_MS + SWEEP_INTERVAL_MS + 2_000; // + Kafka and collector latency on a busy machine
  assert.ok(toldAt - lastRefreshAt <= bound, `offline after ${toldAt - lastRefreshAt} ms, within ${bound} ms`);
  assert.equal((await deliveriesTo(gwA, alice)).length, 2, 'exactly one offline notice');
  // All five presence events of this test (three ONLINE, two subscribes) were handled.
  await waitFor(() => Number(group.health()['presence']?.details?.['presenceEvents']) >= 5, {
    description: 'every presence event handled',
  });
  assert.deepEqual(await deliveriesTo(gwA, mallory), [], 'mallory learns nothing of bob');
});

test('typing over Kafka reaches the other member only; a non-member is refused and relayed to nobody', async () => {
  const carol = id('carol');
  const dave = id('dave');
  const mallory = id('mallory');
  const chatId = id('chat');
  await member(chatId, [carol, dave]);
  const instanceA = id('inst');
  await registry.acquireGateway({ gatewayId: gwA, instanceId: instanceA, ttlMs: 120_000 });
  await connect(carol, 'phone', gwA, instanceA);
  await connect(dave, 'phone', gwA, instanceA);
  await connect(mallory, 'phone', gwA, instanceA);
  const typing = (userId: string): EphemeralEvent => ({
    chatId,
    userId,
    deviceId: 'phone',
    gatewayId: gwA,
    atMs: Date.now(),
    signal: { typing: true, ttlMs: 30_000 },
  });
  await producer().send(TOPICS.ephemeral.name, chatId, typing(mallory));
  await producer().send(TOPICS.ephemeral.name, chatId, typing(carol));
  // Same partition (key chatId), so once dave has carol's notice, mallory's record was handled before it.
  await waitFor(async () => (await deliveriesTo(gwA, dave)).length === 1, {
    description: 'dave told carol types',
    timeoutMs: 30_000,
  });
  const toDave = (await deliveriesTo(gwA, dave))[0]!;
  assert.ok('chatmesh.gateway.TypingNotice' in toDave.payload);
  assert.equal(toDave.payload['chatmesh.gateway.TypingNotice'].typingUserId, carol);
  assert.equal(toDave.deviceId, null);
  await waitFor(async () => (await deliveriesTo(gwA, mallory)).length === 1, {
    description: 'mallory refused',
    timeoutMs: 30_000,
  });
  const toMallory = (await deliveriesTo(gwA, mallory))[0]!;
  assert.ok('chatmesh.gateway.CommandResult' in toMallory.payload);
  assert.equal(toMallory.payload['chatmesh.gateway.CommandResult'].reason?.code, 'CM_ERR_PRESENCE_NOT_A_MEMBER');
  assert.deepEqual(await deliveriesTo(gwA, carol), [], "carol gets neither her own typing nor mallory's");
  assert.equal((await deliveriesTo(gwA, dave)).length, 1, "dave never got mallory's typing");
});
