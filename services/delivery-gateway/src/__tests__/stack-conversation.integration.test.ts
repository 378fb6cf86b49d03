/**
 * The two-user conversation against real servers: Kafka, the schema registry, Cassandra (a fresh
 * keyspace with the migrations applied) and Redis, from @chatmesh/testing. Ingest, fan-out and the
 * gateway run in this process on the Kafka bus in stack mode, and tokens are checked against a JWKS
 * served by the test (an ES256 key pair of its own).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createKafkaBus, type Bus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { createRedisPresenceRegistry, type PresenceRegistry } from '@chatmesh/presence-registry';
import { directChatId } from '@chatmesh/protocol';
import { collectConfigSections, startServiceGroup, type ServiceGroup } from '@chatmesh/runtime';
import { createRegistryCodec } from '@chatmesh/schemas';
import { applyMigrations, createCassandraClient, createCassandraStore, type ChatStore } from '@chatmesh/store';
import {
  randomName,
  startCassandra,
  startKafka,
  startRedis,
  startSchemaRegistry,
  waitFor,
  type ProvidedServer,
} from '@chatmesh/testing';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createDeliveryGatewayService, type Gateway } from '../index.js';
import { TestClient, tryUpgrade } from './harness.js';

const servers: ProvidedServer[] = [];
const closers: Array<() => Promise<unknown>> = [];
let group: ServiceGroup;
let gateway: Gateway;
let store: ChatStore;
let privateKey: CryptoKey;
const KID = 'test-key-1';
const ISSUER = 'https://id.test';
const AUDIENCE = 'chatmesh-it';

before(async () => {
  const [kafka, schemaRegistry, cassandra, redis] = await Promise.all([
    startKafka(),
    startSchemaRegistry(),
    startCassandra(),
    startRedis(),
  ]);
  servers.push(kafka, schemaRegistry, cassandra, redis);

  const keys = await generateKeyPair('ES256');
  privateKey = keys.privateKey;
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  const jwks: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => jwks.close(resolve)));

  const keyspace = `test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = createCassandraClient({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
  });
  await applyMigrations(admin, { keyspace });
  closers.push(async () => {
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
    await admin.shutdown();
  });

  const gatewayModule = createDeliveryGatewayService({ onStarted: (g) => (gateway = g), chatPage: async () => null });
  const modules = [ingestService, fanOutService, gatewayModule];
  const config = loadConfig({
    env: {
      CHATMESH_MODE: 'stack',
      CHATMESH_LOG_LEVEL: 'silent',
      KAFKA_BROKERS: kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: schemaRegistry.url,
      CASSANDRA_CONTACT_POINTS: cassandra.contactPoints.join(','),
      CASSANDRA_LOCAL_DC: cassandra.localDataCenter,
      CASSANDRA_KEYSPACE: keyspace,
      REDIS_URL: redis.url,
      CHATMESH_GATEWAY_ID: randomName('gw').replace(/[^A-Za-z0-9_-]/g, '-'),
      CHATMESH_GATEWAY_PORT: '0',
      // Groups of three or more are broadcast chats here (the production default is 100 members).
      CHATMESH_FAN_OUT_BROADCAST_THRESHOLD: '3',
      CHATMESH_AUTH_ISSUER: ISSUER,
      CHATMESH_AUTH_AUDIENCE: AUDIENCE,
      CHATMESH_AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
    },
    sections: collectConfigSections(modules),
  });
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  const bus: Bus = createKafkaBus({ brokers: kafka.brokers, logLevel: 'nothing' });
  closers.push(() => bus.close());
  store = await createCassandraStore({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
    keyspace,
  });
  closers.push(() => store.close());
  const presence: PresenceRegistry = await createRedisPresenceRegistry({
    url: redis.url,
    keyPrefix: `${randomName('presence')}:`,
  });
  closers.push(() => presence.close());
  group = await startServiceGroup(modules, {
    config,
    logger: createLogger({ service: 'test', level: 'silent' }),
    registry,
    metrics: createChatmeshMetrics(registry),
    bus,
    codec: createRegistryCodec({ url: schemaRegistry.url }),
    store,
    presence,
  });
  closers.push(() => group.stop());
  await waitFor(() => group.isReady(), {
    description: 'ingest, fan-out and gateway ready on Kafka',
    timeoutMs: 180_000,
  });
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  for (const server of servers.reverse()) await server.stop();
});

function token(userId: string, deviceId: string): Promise<string> {
  return new SignJWT({ did: deviceId })
    .setProtectedHeader({ alg: 'ES256', kid: KID })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}

test(
  'two users converse through ingest, fan-out and the gateway on Kafka, Cassandra and Redis',
  { timeout: 240_000 },
  async () => {
    const wsUrl = `${gateway.url.replace(/^http/, 'ws')}/v1/ws`;
    const alice = randomName('alice');
    const bob = randomName('bob');
    const a = await TestClient.open(wsUrl, await token(alice, 'phone'));
    const b = await TestClient.open(wsUrl, await token(bob, 'laptop'));
    try {
      await a.waitForFrame((f) => f.type === 'syncDone', 'alice syncDone', 60_000);
      await b.waitForFrame((f) => f.type === 'syncDone', 'bob syncDone', 60_000);

      const chatId = directChatId(alice, bob);
      a.send({ type: 'createChat', requestId: 'c1', chatId, kind: 'direct', members: [bob] });
      await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c1', 'createChat ack', 60_000);
      await b.waitForFrame((f) => f.type === 'chatCreated' && f['chatId'] === chatId, 'chatCreated at bob', 60_000);

      a.send({ type: 'send', requestId: 's1', chatId, clientMessageId: 'm1', body: 'hello over kafka' });
      const ack = await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 's1', 'send ack', 60_000);
      assert.equal(ack['seq'], 2);
      const received = await b.waitForFrame((f) => f.type === 'messageReceived', 'messageReceived at bob', 60_000);
      assert.deepEqual([received['body'], received['inboxSeq'], received['seq']], ['hello over kafka', 2, 2]);

      b.send({ type: 'ack', upToInboxSeq: 2 });
      await waitFor(async () => (await store.cursors.get(bob, 'laptop')) === 2, {
        description: "bob's cursor in Cassandra",
        timeoutMs: 30_000,
      });

      // A key the JWKS does not hold is refused.
      const forged = await new SignJWT({ did: 'x' })
        .setProtectedHeader({ alg: 'ES256', kid: KID })
        .setSubject(alice)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('10m')
        .sign((await generateKeyPair('ES256')).privateKey);
      const refused = await tryUpgrade(wsUrl, { authorization: `Bearer ${forged}` });
      assert.notEqual(refused, 'opened');
      if (refused !== 'opened') assert.equal(refused.body.code, 'CM_ERR_AUTH_INVALID_TOKEN');
    } finally {
      await a.close();
      await b.close();
    }
  },
);

test(
  'a broadcast chat on Kafka and Cassandra: every member gets each message once and in order, across a reconnect',
  { timeout: 240_000 },
  async () => {
    const wsUrl = `${gateway.url.replace(/^http/, 'ws')}/v1/ws`;
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name) => randomName(name));
    const a = await TestClient.open(wsUrl, await token(alice!, 'phone'));
    const b = await TestClient.open(wsUrl, await token(bob!, 'laptop'));
    let c = await TestClient.open(wsUrl, await token(carol!, 'phone'));
    const messageSeqs = (client: TestClient): number[] =>
      client.frames
        .filter((f) => f.type === 'messageReceived' && f['chatId'] === chatId)
        .map((f) => {
          assert.equal(f['inboxSeq'], undefined, 'a broadcast frame has no inbox position');
          return f['seq'] as number;
        });
    const chatId = randomName('big');
    try {
      for (const client of [a, b, c]) await client.waitForFrame((f) => f.type === 'syncDone', 'syncDone', 60_000);
      a.send({ type: 'createChat', requestId: 'c', chatId, kind: 'group', members: [bob, carol], name: 'big' });
      await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === 'c', 'createChat ack', 60_000);
      const send = async (from: number, to: number): Promise<void> => {
        for (let i = from; i <= to; i++) {
          a.send({ type: 'send', requestId: `s${i}`, chatId, clientMessageId: `m${i}`, body: `message ${i}` });
        }
        await a.waitForFrame((f) => f.type === 'ack' && f['requestId'] === `s${to}`, `ack of s${to}`, 60_000);
      };
      await send(1, 10);
      await waitFor(() => messageSeqs(c).length >= 10, { description: 'carol: ten messages', timeoutMs: 60_000 });
      const lastSeen = Math.max(...messageSeqs(c));
      c.send({ type: 'ack', upToInboxSeq: 1, chats: [{ chatId, seq: lastSeen }] });
      await waitFor(async () => (await store.chatCursors.list(carol!, 'phone')).get(chatId) === lastSeen, {
        description: "carol's position in Cassandra",
        timeoutMs: 30_000,
      });
      await c.close();
      await send(11, 20);
      c = await TestClient.open(wsUrl, await token(carol!, 'phone'));
      await send(21, 25);
      const all = Array.from({ length: 25 }, (_, i) => i + 2);
      for (const client of [a, b]) {
        await waitFor(() => messageSeqs(client).length >= 25, { description: 'all 25 messages', timeoutMs: 60_000 });
      }
      await waitFor(() => messageSeqs(c).length >= 15, { description: "carol's 15 later messages", timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(messageSeqs(a), all);
      assert.deepEqual(messageSeqs(b), all);
      assert.deepEqual(messageSeqs(c), all.slice(10), 'carol resumes after her position: no gap, no duplicate');
    } finally {
      for (const client of [a, b, c]) await client.close();
    }
  },
);
