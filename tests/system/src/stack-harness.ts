import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaBus, createNamespacedBus } from '@chatmesh/bus';
import { createRedisPresenceRegistry } from '@chatmesh/presence-registry';
import { createRegistryCodec } from '@chatmesh/schemas';
import { createMigratedCassandraStore } from '@chatmesh/store';
import type { StackEndpoints } from '@chatmesh/testing';
import { CORE_GROUPS, type CoreService, type SystemHarness } from './system-harness.js';
import { ServiceProcess } from './service-process.js';

const MAINS: Record<CoreService, string> = {
  ingest: 'services/ingest/src/main.ts',
  'fan-out': 'services/fan-out/src/main.ts',
};

/** Options of {@link startStackHarness}. */
export interface StackHarnessOptions {
  /** Extra environment for the service processes. */
  readonly env?: Record<string, string>;
  /** How long a service process may take to become ready. @default 120000 */
  readonly readyTimeoutMs?: number;
  /** Progress lines. @default stderr */
  readonly log?: (line: string) => void;
}

/**
 * Stack mode: ingest and fan-out as separate child processes (`node --import tsx services/<name>/src/main.ts`,
 * `CHATMESH_MODE=stack`) on real Kafka, the schema registry, Cassandra (a fresh keyspace, migrated here)
 * and Redis. This process holds its own bus, codec, store and presence clients to drive and inspect.
 *
 * The services' consumer groups are fixed names shared with every earlier run on the same Kafka, so
 * before the first start, records that earlier runs left unconsumed are skipped (each group's offsets
 * move to the end, only while the group has no members): they belong to other keyspaces and would only
 * slow the run down.
 */
export async function startStackHarness(
  endpoints: StackEndpoints,
  options: StackHarnessOptions = {},
): Promise<SystemHarness & { readonly logDir: string }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[system-tests] ${line}\n`));
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const logDir = mkdtempSync(join(tmpdir(), 'chatmesh-system-'));
  const store = await createMigratedCassandraStore({
    contactPoints: endpoints.cassandraContactPoints,
    localDataCenter: endpoints.cassandraLocalDc,
    keyspace: endpoints.keyspace,
  });
  const bus = createNamespacedBus(
    createKafkaBus({ brokers: endpoints.kafkaBrokers, clientId: 'chatmesh-system-tests', logLevel: 'nothing' }),
    endpoints.namespace,
  );
  const codec = createRegistryCodec({ url: endpoints.schemaRegistryUrl, clientId: 'chatmesh-system-tests' });
  const presence = await createRedisPresenceRegistry({ url: endpoints.redisUrl });

  const env: Record<string, string> = {
    CHATMESH_MODE: 'stack',
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    CHATMESH_NAMESPACE: endpoints.namespace,
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    CASSANDRA_CONTACT_POINTS: endpoints.cassandraContactPoints.join(','),
    CASSANDRA_LOCAL_DC: endpoints.cassandraLocalDc,
    CASSANDRA_KEYSPACE: endpoints.keyspace,
    REDIS_URL: endpoints.redisUrl,
    CHATMESH_HTTP_PORT: '0',
    ...options.env,
  };
  const running = new Map<CoreService, ServiceProcess>();
  let skippedLeftovers = false;

  async function skipLeftovers(): Promise<void> {
    skippedLeftovers = true;
    const topics = await bus.admin.listTopics();
    for (const { groupId, topic } of CORE_GROUPS) {
      if (!topics.includes(topic)) continue;
      const high = await bus.admin.fetchTopicOffsets(topic);
      const committed = await bus.admin.fetchCommittedOffsets(groupId, topic);
      const behind = high.some((p) => {
        const at = committed.find((c) => c.partition === p.partition)?.offset ?? '-1';
        return at === '-1' ? p.high !== p.low : BigInt(at) < BigInt(p.high);
      });
      if (!behind) continue;
      try {
        await bus.admin.resetCommittedOffsets(groupId, topic, 'latest');
        log(`skipped records earlier runs left unconsumed on ${topic} for ${groupId}`);
      } catch (error) {
        // The group has live members (another run): leave it alone, it is consuming anyway.
        log(`could not skip leftovers of ${groupId} on ${topic}: ${(error as Error).message}`);
      }
    }
  }

  return {
    mode: 'stack',
    logDir,
    bus,
    codec,
    store,
    presence,
    async start(service) {
      if (running.has(service)) return;
      if (!skippedLeftovers) await skipLeftovers();
      const startedMs = Date.now();
      // One more try when the process exits during start: on a broker that just started, topic creation
      // can fail for a moment (kafkajs UNKNOWN_TOPIC_OR_PARTITION). A real start-up bug fails twice.
      for (let attempt = 1; ; attempt++) {
        const child = ServiceProcess.spawn(service, MAINS[service], env, join(logDir, `${service}.log`));
        running.set(service, child);
        try {
          const url = await child.waitReady(readyTimeoutMs);
          log(`${service} pid ${child.pid} ready at ${url} in ${Date.now() - startedMs} ms`);
          return;
        } catch (error) {
          await child.kill();
          running.delete(service);
          if (attempt >= 2) throw error;
          log(`${service} pid ${child.pid} did not start (${(error as Error).message}); trying once more`);
        }
      }
    },
    async kill(service) {
      const child = running.get(service);
      running.delete(service);
      if (!child) return;
      await child.kill();
      log(`${service} pid ${child.pid} killed with SIGKILL`);
    },
    async stop(service) {
      const child = running.get(service);
      running.delete(service);
      if (!child) return;
      const exit = await child.stop();
      log(`${service} pid ${child.pid} stopped (code ${exit.code}, signal ${exit.signal})`);
    },
    async health(service) {
      return (await running.get(service)?.details()) ?? {};
    },
    async close() {
      for (const child of [...running.values()].reverse()) await child.stop();
      running.clear();
      await presence.close();
      await bus.close();
      await store.close();
      log(`service logs: ${logDir}`);
    },
  };
}
