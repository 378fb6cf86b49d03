import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfraEndpoints } from '@chatmesh/infra';
import { applyMigrations, createCassandraClient } from '@chatmesh/store';
import { ServiceProcess, startTestJwks, type TestJwks } from '@chatmesh/system-tests';
import { freeLoopbackPort, randomKeyspaceName, randomName } from '@chatmesh/testing';
import type { GatewayTarget, ServiceTarget } from './schedule.js';

const MAINS: Record<ServiceTarget, string> = {
  ingest: 'services/ingest/src/main.ts',
  'fan-out': 'services/fan-out/src/main.ts',
  receipts: 'services/receipts/src/main.ts',
  presence: 'services/presence/src/main.ts',
  push: 'services/push/src/main.ts',
  'gateway-a': 'services/delivery-gateway/src/main.ts',
  'gateway-b': 'services/delivery-gateway/src/main.ts',
};

/**
 * The chaos run's environment for every service: send limits out of the way (the run measures loss, not
 * limits), and groups of five or more members as broadcast chats so both delivery paths are under fire.
 */
export const CHAOS_SERVICE_ENV: Readonly<Record<string, string>> = Object.freeze({
  CHATMESH_GATEWAY_USER_RATE_PER_SECOND: '10000',
  CHATMESH_GATEWAY_USER_BURST: '10000',
  CHATMESH_INGEST_SEND_RATE_PER_SECOND: '10000',
  CHATMESH_INGEST_SEND_BURST: '10000',
  CHATMESH_FAN_OUT_BROADCAST_THRESHOLD: '5',
});

/**
 * Every service of the stack as its own `node --import tsx <main.ts>` process (ServiceProcess of the system
 * tests), two gateways included, on the run's own servers. Gateways listen on fixed ports so that a
 * restarted gateway is found again by its clients (and by the proxy in front of it).
 */
export interface ChaosStack {
  readonly logDir: string;
  /** `http://127.0.0.1:<port>` of each gateway (the proxies point here). */
  readonly gatewayUrls: Readonly<Record<GatewayTarget, string>>;
  token(userId: string, deviceId: string): Promise<string>;
  pid(service: ServiceTarget): number;
  /** Spawns the service (when not running) and waits until `/ready`. */
  start(service: ServiceTarget): Promise<void>;
  kill(service: ServiceTarget): Promise<void>;
  pause(service: ServiceTarget, paused: boolean): void;
  stop(service: ServiceTarget): Promise<void>;
  close(): Promise<void>;
}

export async function startChaosStack(
  infra: InfraEndpoints,
  log: (line: string) => void,
  options: { readonly readyTimeoutMs?: number; readonly env?: Readonly<Record<string, string>> } = {},
): Promise<ChaosStack> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const logDir = mkdtempSync(join(tmpdir(), 'chatmesh-chaos-'));
  const keyspace = randomKeyspaceName('chaos');
  const cassandra = createCassandraClient({
    contactPoints: infra.cassandraContactPoints,
    localDataCenter: infra.cassandraLocalDataCenter,
  });
  try {
    await applyMigrations(cassandra, { keyspace });
  } finally {
    await cassandra.shutdown();
  }
  const jwks: TestJwks = await startTestJwks();
  const ports: Record<GatewayTarget, number> = {
    'gateway-a': await freeLoopbackPort(),
    'gateway-b': await freeLoopbackPort(),
  };
  const env: Record<string, string> = {
    ...CHAOS_SERVICE_ENV,
    CHATMESH_MODE: 'stack',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    CHATMESH_NAMESPACE: randomName('chaos'),
    SCHEMA_REGISTRY_URL: infra.schemaRegistryUrl,
    CASSANDRA_CONTACT_POINTS: infra.cassandraContactPoints.join(','),
    CASSANDRA_LOCAL_DC: infra.cassandraLocalDataCenter,
    CASSANDRA_KEYSPACE: keyspace,
    REDIS_URL: infra.redisUrl,
    CHATMESH_HTTP_PORT: '0',
    CHATMESH_GATEWAY_HOST: '127.0.0.1',
    CHATMESH_AUTH_JWKS_URL: jwks.url,
    CHATMESH_LOG_LEVEL: process.env.CHATMESH_TEST_LOG_LEVEL ?? 'info',
    ...options.env,
  };
  const extra = (service: ServiceTarget): Record<string, string> =>
    service === 'gateway-a' || service === 'gateway-b'
      ? { CHATMESH_GATEWAY_ID: `chaos-${service}`, CHATMESH_GATEWAY_PORT: String(ports[service]) }
      : {};
  const running = new Map<ServiceTarget, ServiceProcess>();

  const start = async (service: ServiceTarget): Promise<void> => {
    if (running.has(service)) return;
    const startedMs = Date.now();
    // One more try when the process exits during start: topic creation can fail for a moment on a broker that
    // just (re)started (kafkajs UNKNOWN_TOPIC_OR_PARTITION). A real start-up bug fails twice.
    for (let attempt = 1; ; attempt++) {
      const child = ServiceProcess.spawn(
        service,
        MAINS[service],
        { ...env, ...extra(service) },
        join(logDir, `${service}.log`),
      );
      running.set(service, child);
      try {
        await child.waitReady(readyTimeoutMs);
        log(`${service} pid ${child.pid} ready in ${Date.now() - startedMs} ms`);
        return;
      } catch (error) {
        await child.kill();
        running.delete(service);
        if (attempt >= 3) throw error;
        log(`${service} did not start (${(error as Error).message}); trying again`);
      }
    }
  };
  const services = Object.keys(MAINS) as ServiceTarget[];
  try {
    // One at a time: on a two-core machine, parallel tsx start-ups only slow each other down.
    for (const service of services) await start(service);
  } catch (error) {
    for (const child of running.values()) await child.kill();
    await jwks.close();
    log(`service logs: ${logDir}`);
    throw error;
  }
  const child = (service: ServiceTarget): ServiceProcess => {
    const found = running.get(service);
    if (!found) throw new Error(`${service} is not running`);
    return found;
  };
  return {
    logDir,
    gatewayUrls: {
      'gateway-a': `http://127.0.0.1:${ports['gateway-a']}`,
      'gateway-b': `http://127.0.0.1:${ports['gateway-b']}`,
    },
    token: (userId, deviceId) => jwks.sign(userId, deviceId),
    pid: (service) => child(service).pid ?? -1,
    start,
    async kill(service) {
      const found = child(service);
      running.delete(service);
      await found.kill();
    },
    pause(service, paused) {
      process.kill(child(service).pid ?? -1, paused ? 'SIGSTOP' : 'SIGCONT');
    },
    async stop(service) {
      const found = child(service);
      running.delete(service);
      await found.stop();
    },
    async close() {
      for (const found of running.values()) {
        try {
          process.kill(found.pid ?? -1, 'SIGCONT');
        } catch {
          // already gone
        }
      }
      for (const found of [...running.values()].reverse()) await found.stop(15_000);
      running.clear();
      await jwks.close();
      log(`service logs: ${logDir}`);
    },
  };
}
