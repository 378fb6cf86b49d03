import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaBus, createNamespacedBus } from '@chatmesh/bus';
import { createRedisPresenceRegistry } from '@chatmesh/presence-registry';
import { createRegistryCodec } from '@chatmesh/schemas';
import { createMigratedCassandraStore } from '@chatmesh/store';
import type { StackEndpoints } from '@chatmesh/testing';
import { EXPERIENCE_ENV, type ExperienceSystem } from './experience-system.js';
import { ServiceProcess } from './service-process.js';
import { startTestJwks } from './test-jwks.js';
import { WsUser } from './ws-user.js';

const SERVICES: ReadonlyArray<{ name: string; main: string }> = [
  { name: 'ingest', main: 'services/ingest/src/main.ts' },
  { name: 'fan-out', main: 'services/fan-out/src/main.ts' },
  { name: 'receipts', main: 'services/receipts/src/main.ts' },
  { name: 'presence', main: 'services/presence/src/main.ts' },
];
const GATEWAY_MAIN = 'services/delivery-gateway/src/main.ts';

/**
 * Stack mode for the experience suite: ingest, fan-out, receipts, presence and two delivery gateways,
 * each its own `node --import tsx <main.ts>` process with `CHATMESH_MODE=stack`, on real Kafka, the schema
 * registry, Cassandra (a fresh keyspace, migrated here) and Redis; tokens come from a JWKS served here,
 * as from an identity provider. The Kafka broker must be this run's own (fixed consumer groups).
 */
export async function startStackExperience(
  endpoints: StackEndpoints,
  options: {
    readonly log?: (line: string) => void;
    readonly readyTimeoutMs?: number;
    /** More environment for every service (attachment tests add the S3 endpoint). */
    readonly env?: Readonly<Record<string, string>>;
  } = {},
): Promise<ExperienceSystem & { readonly logDir: string }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[experience] ${line}\n`));
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const logDir = mkdtempSync(join(tmpdir(), 'chatmesh-experience-'));
  const store = await createMigratedCassandraStore({
    contactPoints: endpoints.cassandraContactPoints,
    localDataCenter: endpoints.cassandraLocalDc,
    keyspace: endpoints.keyspace,
  });
  const bus = createNamespacedBus(
    createKafkaBus({ brokers: endpoints.kafkaBrokers, clientId: 'chatmesh-experience', logLevel: 'nothing' }),
    endpoints.namespace,
  );
  const codec = createRegistryCodec({ url: endpoints.schemaRegistryUrl, clientId: 'chatmesh-experience' });
  const presence = await createRedisPresenceRegistry({ url: endpoints.redisUrl });
  const jwks = await startTestJwks();
  const env: Record<string, string> = {
    ...EXPERIENCE_ENV,
    CHATMESH_MODE: 'stack',
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    CHATMESH_NAMESPACE: endpoints.namespace,
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    CASSANDRA_CONTACT_POINTS: endpoints.cassandraContactPoints.join(','),
    CASSANDRA_LOCAL_DC: endpoints.cassandraLocalDc,
    CASSANDRA_KEYSPACE: endpoints.keyspace,
    REDIS_URL: endpoints.redisUrl,
    CHATMESH_HTTP_PORT: '0',
    CHATMESH_GATEWAY_PORT: '0',
    CHATMESH_AUTH_JWKS_URL: jwks.url,
    CHATMESH_LOG_LEVEL: process.env.CHATMESH_TEST_LOG_LEVEL ?? 'info',
    ...options.env,
  };
  const running: ServiceProcess[] = [];
  const gateways: ServiceProcess[] = [];
  const gatewayUrls: string[] = [];

  async function spawnReady(name: string, main: string, extra: Record<string, string> = {}): Promise<ServiceProcess> {
    // One more try when the process exits during start: on a broker that just started, topic creation can
    // fail for a moment (kafkajs UNKNOWN_TOPIC_OR_PARTITION). A real start-up bug fails twice.
    for (let attempt = 1; ; attempt++) {
      const child = ServiceProcess.spawn(name, main, { ...env, ...extra }, join(logDir, `${name}.log`));
      try {
        const url = await child.waitReady(readyTimeoutMs);
        log(`${name} pid ${child.pid} ready at ${url}`);
        running.push(child);
        return child;
      } catch (error) {
        await child.kill();
        if (attempt >= 2) throw error;
        log(`${name} did not start (${(error as Error).message}); trying once more`);
      }
    }
  }

  try {
    // One at a time: on a two-core machine, parallel tsx start-ups only slow each other down.
    for (const service of SERVICES) await spawnReady(service.name, service.main);
    for (const id of ['exp-gw-a', 'exp-gw-b']) {
      const child = await spawnReady('delivery-gateway', GATEWAY_MAIN, { CHATMESH_GATEWAY_ID: id });
      const url = (await child.details())['url'];
      if (typeof url !== 'string') throw new Error(`gateway ${id} reported no url`);
      gateways.push(child);
      gatewayUrls.push(url);
    }
    await warmUp(gatewayUrls, (userId, deviceId) => jwks.sign(userId, deviceId), log);
  } catch (error) {
    for (const child of running.reverse()) await child.kill();
    await Promise.allSettled([presence.close(), bus.close(), store.close(), jwks.close()]);
    log(`service logs: ${logDir}`);
    throw error;
  }

  return {
    mode: 'stack',
    logDir,
    gatewayUrls,
    bus,
    codec,
    store,
    presence,
    token: (userId, deviceId) => jwks.sign(userId, deviceId),
    signClaims: jwks.signClaims,
    async killGateway(index) {
      const child = gateways[index];
      if (!child) throw new Error(`no gateway ${index}`);
      await child.kill();
      running.splice(running.indexOf(child), 1);
      log(`gateway ${index} pid ${child.pid} killed with SIGKILL`);
    },
    async close() {
      for (const child of [...running].reverse()) await child.stop();
      running.length = 0;
      await Promise.allSettled([presence.close(), bus.close(), store.close(), jwks.close()]);
      log(`service logs: ${logDir}`);
    },
  };
}

/**
 * One conversation across both gateways before the suite starts, with a generous deadline. "Ready" means
 * every process joined its consumer groups, but on a fresh broker the groups were seen to rebalance all
 * together some 20-40 s after joining (kafkajs reports "The group is rebalancing, re-joining"), which
 * stalls the pipeline for a while; the suite's tests have tight waits, so they start once a message and
 * its DELIVERED tick have gone all the way round.
 */
async function warmUp(
  gatewayUrls: readonly string[],
  sign: (userId: string, deviceId: string) => Promise<string>,
  log: (line: string) => void,
): Promise<void> {
  const startedMs = Date.now();
  const [a, b] = ['warm-a', 'warm-b'].map((name) => `${name}-${startedMs}`) as [string, string];
  const first = await WsUser.connect(gatewayUrls[0]!, await sign(a, 'phone'), { userId: a, deviceId: 'phone' });
  const second = await WsUser.connect(gatewayUrls[gatewayUrls.length - 1]!, await sign(b, 'phone'), {
    userId: b,
    deviceId: 'phone',
  });
  try {
    const chat = `warm-${startedMs}`;
    const timeoutMs = 180_000;
    const requestId = first.requestId();
    first.send({ type: 'createChat', requestId, chatId: chat, kind: 'group', members: [b], name: 'warm-up' });
    await first.waitFrame('ack', (f) => f.requestId === requestId, timeoutMs);
    first.send({ type: 'send', requestId: 'warm-send', chatId: chat, clientMessageId: 'warm-1', body: 'warm-up' });
    const sent = await first.waitFrame('ack', (f) => f.requestId === 'warm-send', timeoutMs);
    await second.waitFrame('messageReceived', (f) => f.chatId === chat && f.seq === sent.seq, timeoutMs);
    await first.waitFrame('receipt', (f) => f.chatId === chat && f.status === 'delivered', timeoutMs);
    log(`warm-up conversation went round in ${Date.now() - startedMs} ms`);
  } finally {
    await Promise.allSettled([first.close(), second.close()]);
  }
}
