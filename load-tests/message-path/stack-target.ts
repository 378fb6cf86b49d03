import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { createKafkaBus, createNamespacedBus, namespacedName, type Bus } from '@chatmesh/bus';
import { createRedisPresenceRegistry, type PresenceRegistry } from '@chatmesh/presence-registry';
import { ensureTopics } from '@chatmesh/runtime';
import { createRegistryCodec, TOPICS, type SchemaCodec } from '@chatmesh/schemas';
import { applyMigrations, createCassandraClient } from '@chatmesh/store';
import { randomKeyspaceName, startCassandra, startKafka, startRedis, startSchemaRegistry } from '@chatmesh/testing';
import { BenchError } from '../src/index.js';
import { countersFromHealth, type BenchTarget } from './bench-target.js';

const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));

// The services' group ids (services/ingest/src/service.ts, services/fan-out/src/service.ts); their barrels
// do not export them, and a service may not be deep-imported.
const INGEST_GROUP_ID = 'chatmesh.ingest';
const FAN_OUT_GROUP_ID = 'chatmesh.fan-out';
const INBOX_SEQUENCER_GROUP_ID = 'chatmesh.inbox-sequencer';

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS_PER_SECOND = 100;

/** How long a service group may stay busy (a killed member's session lapsing) before the run gives up. */
const GROUP_IDLE_TIMEOUT_MS = 60_000;

/** The consumer groups of the services under test, with the topic each consumes. */
const SERVICE_GROUPS = [
  { groupId: INGEST_GROUP_ID, topic: TOPICS.chatCommands.name },
  { groupId: FAN_OUT_GROUP_ID, topic: TOPICS.chatEvents.name },
  { groupId: INBOX_SEQUENCER_GROUP_ID, topic: TOPICS.userInbox.name },
] as const;

/** A port free on loopback now (the services log their URL only at info level, so the bench picks the port). */
async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new BenchError('CM_ERR_BENCH_SETUP_FAILED', 'could not reserve a loopback port for a service', {
      context: { phase: 'stack' },
    });
  }
  return address.port;
}

interface ServiceProcess {
  readonly name: 'ingest' | 'fan-out';
  readonly child: ChildProcess;
  readonly logFile: string;
  /** The ops server URL. */
  readonly url: Promise<string>;
  readonly exited: Promise<number | string>;
}

function spawnService(
  name: 'ingest' | 'fan-out',
  port: number,
  env: NodeJS.ProcessEnv,
  logDir: string,
  cpuProfileDir: string | undefined,
): ServiceProcess {
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  // One directory per service and node's own file names: the tsx loader thread writes a profile too, and a
  // fixed --cpu-prof-name would let it overwrite the main thread's.
  const profile = cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', join(cpuProfileDir, name)] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join('services', name, 'src', 'main.ts')], {
    cwd: ROOT_DIR,
    env: { ...env, CHATMESH_HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.pipe(log);
  child.stdout?.pipe(log);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', () => resolve('spawn-error'));
  });
  const url = Promise.resolve(`http://127.0.0.1:${port}`);
  return { name, child, logFile, url, exited };
}

/** CPU seconds (utime + stime) of a live process from /proc (Linux); NaN when unreadable. */
function processCpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

async function stopService(proc: ServiceProcess, timeoutMs: number): Promise<number | string> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

async function readDetails(url: string): Promise<Record<string, Readonly<Record<string, unknown>> | undefined>> {
  const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as {
    services?: Record<string, { ready?: boolean; details?: Record<string, unknown> }>;
  };
  const out: Record<string, Readonly<Record<string, unknown>> | undefined> = {};
  for (const [name, report] of Object.entries(body.services ?? {}))
    out[name] = report.ready ? (report.details ?? {}) : undefined;
  return out;
}

/**
 * Stack mode: the real Kafka, schema registry, Cassandra and Redis (endpoints from the environment, else
 * the native servers of `npm run infra -- up` through @chatmesh/testing's providers), a fresh keyspace with
 * the migrations applied, and ingest and fan-out as child processes exactly as `npm run stack` runs them
 * (`node --import tsx services/<name>/src/main.ts`, CHATMESH_MODE=stack).
 *
 * The services' consumer groups have fixed names, so the run must be the only one consuming them: their
 * committed offsets are moved to the end of each topic first (which fails while any member is running),
 * so the services process this run's records only, and the members are counted again at the end.
 * @throws BenchError `CM_ERR_BENCH_SETUP_FAILED` when a group is in use or a service exits
 */
export async function startStackTarget(options: {
  runId: string;
  gatewayTopics: readonly string[];
  logLevel: string;
  cpuProfileDir: string | undefined;
  keepKeyspace: boolean;
  logDir: string;
}): Promise<BenchTarget> {
  const provider = { log: (line: string) => process.stderr.write(`[bench] ${line}\n`) };
  // One after the other: a provider that has to start native servers must not race another doing the same.
  const kafka = await startKafka(provider);
  const registry = await startSchemaRegistry(provider);
  const cassandra = await startCassandra(provider);
  const redis = await startRedis(provider);
  const keyspace = randomKeyspaceName(`bench_${options.runId}`);
  const cql = createCassandraClient({
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
  });
  // A Kafka namespace of the run's own: tests and other stacks on the same broker keep their fixed groups apart.
  const namespace = `bench-${options.runId}`;
  const bus: Bus = createNamespacedBus(
    createKafkaBus({ brokers: kafka.brokers, clientId: `chatmesh-bench-${options.runId}` }),
    namespace,
  );
  const codec: SchemaCodec = createRegistryCodec({ url: registry.url, clientId: `chatmesh-bench-${options.runId}` });
  const admin = new Kafka({
    brokers: kafka.brokers,
    clientId: `chatmesh-bench-admin-${options.runId}`,
    logLevel: kafkaLogLevel.NOTHING,
  }).admin();
  // A failed set-up must not leave the servers it started running (the stop below does not exist yet).
  const setupFailed = async (error: unknown): Promise<never> => {
    await Promise.allSettled([cql.shutdown(), admin.disconnect(), bus.close()]);
    await Promise.allSettled([kafka.stop(), registry.stop(), cassandra.stop(), redis.stop()]);
    throw error;
  };
  await applyMigrations(cql, { keyspace }).catch(setupFailed);
  await admin.connect().catch(setupFailed);
  const presence: PresenceRegistry = await createRedisPresenceRegistry({ url: redis.url }).catch(setupFailed);
  const processes: ServiceProcess[] = [];
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all(processes.map((proc) => stopService(proc, 20_000)));
      try {
        await admin.deleteTopics({
          topics: options.gatewayTopics.map((topic) => namespacedName(namespace, topic)),
          timeout: 10_000,
        });
      } catch {
        // best effort: a leftover per-run gateway topic is harmless
      }
      if (!options.keepKeyspace) await cql.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
      await cql.shutdown();
      await admin.disconnect();
      await presence.close();
      await bus.close();
      await Promise.all([kafka.stop(), registry.stop(), cassandra.stop(), redis.stop()]);
    })();
    return stopped;
  };

  try {
    await ensureTopics(bus, codec, [TOPICS.chatCommands, TOPICS.chatEvents, TOPICS.userInbox, TOPICS.pushRequests]);
    for (const { groupId, topic } of SERVICE_GROUPS) {
      // A member killed without leaving stays in the group until its session times out: wait that long.
      const deadline = Date.now() + GROUP_IDLE_TIMEOUT_MS;
      for (;;) {
        try {
          await bus.admin.resetCommittedOffsets(groupId, topic, 'latest');
          break;
        } catch (error) {
          if (Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 2_000));
            continue;
          }
          throw new BenchError(
            'CM_ERR_BENCH_SETUP_FAILED',
            `consumer group ${groupId} is in use by another process; stop other ingest/fan-out processes on ${kafka.brokers.join(',')} first`,
            { cause: error, context: { phase: 'stack', groupId } },
          );
        }
      }
    }
    mkdirSync(options.logDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CHATMESH_MODE: 'stack',
      CHATMESH_HTTP_HOST: '127.0.0.1',
      CHATMESH_LOG_LEVEL: options.logLevel,
      KAFKA_BROKERS: kafka.brokers.join(','),
      CHATMESH_NAMESPACE: namespace,
      SCHEMA_REGISTRY_URL: registry.url,
      CASSANDRA_CONTACT_POINTS: cassandra.contactPoints.join(','),
      CASSANDRA_LOCAL_DC: cassandra.localDataCenter,
      CASSANDRA_KEYSPACE: keyspace,
      REDIS_URL: redis.url,
    };
    if (options.cpuProfileDir) mkdirSync(options.cpuProfileDir, { recursive: true });
    for (const name of ['ingest', 'fan-out'] as const) {
      processes.push(spawnService(name, await findFreePort(), env, options.logDir, options.cpuProfileDir));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const [ingest, fanOut] = processes as [ServiceProcess, ServiceProcess];

  return {
    bus,
    codec,
    presence,
    environment: {
      kafka: { brokers: kafka.brokers, provider: kafka.provider, version: kafka.version },
      schemaRegistry: { url: registry.url, provider: registry.provider },
      cassandra: {
        contactPoints: cassandra.contactPoints,
        provider: cassandra.provider,
        version: cassandra.version,
        keyspace,
      },
      redis: { url: redis.url, provider: redis.provider, version: redis.version },
      services: { ingest: ingest.logFile, 'fan-out': fanOut.logFile },
    },
    async isReady() {
      for (const proc of processes) {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
          throw new BenchError('CM_ERR_BENCH_SETUP_FAILED', `${proc.name} exited; see ${proc.logFile}`, {
            context: { phase: 'stack', service: proc.name, logFile: proc.logFile },
          });
        }
      }
      try {
        const [a, b] = await Promise.all([readDetails(await ingest.url), readDetails(await fanOut.url)]);
        return a['ingest'] !== undefined && b['fan-out'] !== undefined;
      } catch (error) {
        if (error instanceof BenchError) throw error;
        return false;
      }
    },
    async cpuSeconds() {
      const out: Record<string, number> = {};
      for (const proc of processes) out[proc.name] = processCpuSeconds(proc.child.pid);
      out['bench driver'] = (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
      return out;
    },
    async counters() {
      const [a, b] = await Promise.all([readDetails(await ingest.url), readDetails(await fanOut.url)]);
      return countersFromHealth({ ingest: a['ingest'], fanOut: b['fan-out'] });
    },
    async checkIsolation() {
      const warnings: string[] = [];
      const { groups } = await admin.describeGroups(
        SERVICE_GROUPS.map((group) => namespacedName(namespace, group.groupId)),
      );
      for (const group of groups) {
        if (group.members.length !== 1) {
          warnings.push(
            `consumer group ${group.groupId} had ${group.members.length} members (expected this run's 1): another process shared the work`,
          );
        }
      }
      return warnings;
    },
    stop,
  };
}
