/**
 * Where the send → deliver benchmark's devices connect:
 *
 * - **embedded**: `npm start`'s launcher (all six services on the memory bus, store and presence) as one
 *   child process; tokens are HS256 signed with a development secret the benchmark gives it.
 * - **stack**: one process per service, as `npm run stack` runs them (`node --import tsx
 *   services/<name>/src/main.ts`, `CHATMESH_MODE=stack`): ingest, fan-out, receipts, presence, push and
 *   `gateways` delivery gateways (ids `sd-<run>-<n>`), on the running Kafka, registry, Cassandra and Redis
 *   named by `KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL`, `CASSANDRA_CONTACT_POINTS`, `REDIS_URL`. The run is
 *   isolated on those shared servers: its own Kafka namespace `sd-<run>` (`CHATMESH_NAMESPACE`: every topic
 *   and consumer group prefixed, so other stacks and tests using the fixed group names are not disturbed),
 *   its own Cassandra keyspace (migrations applied) and presence key prefix; all are deleted at the end.
 *   The gateways check ES256 tokens against a JWKS this process serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { applyMigrations, createCassandraClient } from '@chatmesh/store';
import { freePort, REPO_ROOT, startEmbeddedProcess } from '../gateway/embedded-process.js';
import { BenchError } from '../src/index.js';
import { findListeningPid, portsOf } from './cpu.js';
import type { TokenSigner } from './tokens.js';
import { readWorkCounts, type WorkCounts } from './work-counts.js';

const ISSUER = 'chatmesh-dev';
const AUDIENCE = 'chatmesh';

export interface SendDeliverTarget {
  readonly mode: 'embedded' | 'stack';
  /** `ws://…/v1/ws` of each gateway. */
  readonly gatewayWsUrls: readonly string[];
  readonly signer: TokenSigner;
  /** What ran where, stored with the result. */
  readonly environment: Readonly<Record<string, unknown>>;
  /** The server-side processes whose CPU is measured (services, and in stack mode Kafka, Cassandra, Redis, registry). */
  serverProcesses(): Array<{ name: string; pid: number }>;
  /** Each gateway process: its pid (node's) and its ops server (`/metrics`, `/ready`). */
  gatewayProcesses(): Array<{ pid: number; opsUrl: string }>;
  /** Every service process's ops server (`/metrics`), and the namespace its topic and group names carry. */
  metricsSources(): { opsUrls: string[]; namespace: string };
  /** Stack mode: Cassandra and Kafka work done so far in the run's keyspace and namespace. */
  workCounts?(): Promise<WorkCounts>;
  stop(): Promise<void>;
}

/** Embedded mode: the launcher with `env` (rate limits) on top of its defaults. */
export async function startEmbedded(options: {
  logDir: string;
  readyTimeoutMs: number;
  env: Readonly<Record<string, string>>;
  /** Write a V8 CPU profile of the process into this directory when it stops. */
  cpuProfileDir?: string | undefined;
}): Promise<SendDeliverTarget> {
  const secret = randomBytes(32).toString('base64url');
  const embedded = await startEmbeddedProcess({
    logDir: options.logDir,
    readyTimeoutMs: options.readyTimeoutMs,
    fdLimit: 20_000,
    ...(options.cpuProfileDir === undefined ? {} : { nodeFlags: `--cpu-prof --cpu-prof-dir=${options.cpuProfileDir}` }),
    env: { CHATMESH_AUTH_DEV_SECRET: secret, ...options.env },
  });
  return {
    mode: 'embedded',
    gatewayWsUrls: [`${embedded.gatewayUrl.replace(/^http/, 'ws')}/v1/ws`],
    signer: { alg: 'HS256', secret, issuer: ISSUER, audience: AUDIENCE },
    environment: {
      process: 'npm start launcher (all six services in one process; memory bus, store and presence)',
      pid: embedded.pid,
      log: embedded.logFile,
      env: options.env,
    },
    serverProcesses: () => [{ name: 'embedded (all services)', pid: embedded.pid }],
    gatewayProcesses: () => [{ pid: embedded.pid, opsUrl: embedded.opsUrl }],
    metricsSources: () => ({ opsUrls: [embedded.opsUrl], namespace: '' }),
    stop: () => embedded.stop(),
  };
}

/** The services of a stack run other than the gateways, in start order. */
const CORE_SERVICES = ['ingest', 'fan-out', 'receipts', 'presence', 'push'] as const;

interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The ops server (`/ready`). */
  readonly opsUrl: string;
  readonly logFile: string;
  exitCode: number | string | undefined;
  readonly exited: Promise<void>;
}

function spawnService(
  name: string,
  entry: string,
  logDir: string,
  env: NodeJS.ProcessEnv,
  opsPort: number,
  nodeArgs: readonly string[] = [],
): ServiceProcess {
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  // bash only raises the open files limit, then becomes node (exec), so the pid is node's.
  const child = spawn(
    'bash',
    [
      '-c',
      `ulimit -n 20000 && exec ${[process.execPath, '--import', 'tsx', ...nodeArgs, entry].map((arg) => JSON.stringify(arg)).join(' ')}`,
    ],
    { cwd: REPO_ROOT, env: { ...env, CHATMESH_HTTP_PORT: String(opsPort) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const proc: ServiceProcess = {
    name,
    child,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    logFile,
    exitCode: undefined,
    exited: new Promise<void>((done) =>
      child.once('exit', (code, signal) => {
        proc.exitCode = code ?? signal ?? 'unknown';
        done();
      }),
    ),
  };
  return proc;
}

function requireEnv(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) {
    throw new BenchError(
      'CM_ERR_BENCH_SETUP_FAILED',
      `${name} is not set: stack mode runs on the servers you already run (eval "$(npm run -s infra -- env --export)")`,
      { context: { phase: 'stack', variable: name } },
    );
  }
  return value;
}

/** Stack mode: see the file comment. `env` (rate limits) goes to every service process. */
export async function startStack(options: {
  runId: string;
  logDir: string;
  readyTimeoutMs: number;
  gateways: number;
  env: Readonly<Record<string, string>>;
  /** Extra node arguments of the gateway processes only (e.g. a preload the density benchmark measures with). */
  gatewayNodeArgs?: readonly string[];
  /** Extra environment of the gateway processes only. */
  gatewayEnv?: Readonly<Record<string, string>>;
}): Promise<SendDeliverTarget> {
  const brokers = requireEnv('KAFKA_BROKERS');
  const registryUrl = requireEnv('SCHEMA_REGISTRY_URL');
  const contactPoints = requireEnv('CASSANDRA_CONTACT_POINTS');
  const redisUrl = requireEnv('REDIS_URL');
  const localDataCenter = process.env['CASSANDRA_LOCAL_DC']?.trim() || 'datacenter1';
  const namespace = `sd-${options.runId}`;
  const keyspace = `sd_${options.runId}`;
  mkdirSync(options.logDir, { recursive: true });

  const cql = createCassandraClient({ contactPoints: contactPoints.split(','), localDataCenter });
  const admin = new Kafka({
    brokers: brokers.split(','),
    clientId: namespace,
    logLevel: kafkaLogLevel.NOTHING,
  }).admin();
  const keys = await generateKeyPair('ES256', { extractable: true });
  const kid = namespace;
  const jwk = { ...(await exportJWK(keys.publicKey)), kid, alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(keys.privateKey)), kid, alg: 'ES256' };
  const jwks: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((done) => jwks.listen(0, '127.0.0.1', done));
  const processes: ServiceProcess[] = [];
  const gateways: ServiceProcess[] = [];
  // A coordinator that dies without its finally (an uncaught error) must not leave services behind.
  const killAll = (): void => {
    for (const proc of processes) if (proc.exitCode === undefined) proc.child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      for (const proc of processes) if (proc.exitCode === undefined) proc.child.kill('SIGTERM');
      const timer = setTimeout(killAll, 20_000);
      await Promise.all(processes.map((proc) => proc.exited));
      clearTimeout(timer);
      process.removeListener('exit', killAll);
      await new Promise<void>((done) => jwks.close(() => done()));
      // The run's topics and groups (everything under its namespace) and its keyspace.
      try {
        await admin.connect();
        const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${namespace}.`));
        if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
        const { groups } = await admin.listGroups();
        const ours = groups.map((group) => group.groupId).filter((id) => id.startsWith(`${namespace}.`));
        if (ours.length > 0) await admin.deleteGroups(ours);
      } catch (error) {
        process.stderr.write(`could not delete the run's Kafka topics/groups (${namespace}.*): ${String(error)}\n`);
      }
      await admin.disconnect().catch(() => {});
      await cql.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
      await cql.shutdown().catch(() => {});
    })());

  try {
    await applyMigrations(cql, { keyspace });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CHATMESH_MODE: 'stack',
      CHATMESH_LOG_LEVEL: 'warn',
      CHATMESH_HTTP_HOST: '127.0.0.1',
      CHATMESH_NAMESPACE: namespace,
      CHATMESH_PRESENCE_KEY_PREFIX: `${namespace}.watch`,
      CHATMESH_AUTH_ISSUER: ISSUER,
      CHATMESH_AUTH_AUDIENCE: AUDIENCE,
      CHATMESH_AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      KAFKA_BROKERS: brokers,
      SCHEMA_REGISTRY_URL: registryUrl,
      CASSANDRA_CONTACT_POINTS: contactPoints,
      CASSANDRA_LOCAL_DC: localDataCenter,
      CASSANDRA_KEYSPACE: keyspace,
      REDIS_URL: redisUrl,
      ...options.env,
    };
    for (const name of CORE_SERVICES) {
      processes.push(
        spawnService(name, join('services', name, 'src', 'main.ts'), options.logDir, env, await freePort()),
      );
    }
    const gatewayUrls: string[] = [];
    for (let n = 0; n < options.gateways; n++) {
      const port = await freePort();
      const gateway = spawnService(
        `gateway-${n}`,
        join('services', 'delivery-gateway', 'src', 'main.ts'),
        options.logDir,
        {
          ...env,
          ...options.gatewayEnv,
          CHATMESH_GATEWAY_PORT: String(port),
          CHATMESH_GATEWAY_ID: `${namespace}-${n}`,
        },
        await freePort(),
        options.gatewayNodeArgs,
      );
      processes.push(gateway);
      gateways.push(gateway);
      gatewayUrls.push(`ws://127.0.0.1:${port}/v1/ws`);
    }
    const deadline = Date.now() + options.readyTimeoutMs;
    for (;;) {
      const dead = processes.find((proc) => proc.exitCode !== undefined);
      if (dead) {
        throw new BenchError(
          'CM_ERR_BENCH_SETUP_FAILED',
          `${dead.name} exited with ${dead.exitCode}; see ${dead.logFile}`,
          { context: { phase: 'stack', logFile: dead.logFile } },
        );
      }
      const ready = await Promise.all(
        processes.map((proc) =>
          fetch(`${proc.opsUrl}/ready`, { signal: AbortSignal.timeout(2_000) }).then(
            (response) => response.status === 200,
            () => false,
          ),
        ),
      );
      if (ready.every(Boolean)) break;
      if (Date.now() > deadline) {
        const waiting = processes.filter((_proc, index) => !ready[index]).map((proc) => proc.name);
        throw new BenchError(
          'CM_ERR_BENCH_TIMEOUT',
          `not ready in time: ${waiting.join(', ')}; logs in ${options.logDir}`,
          {
            context: { phase: 'stack', waiting },
          },
        );
      }
      await new Promise((done) => setTimeout(done, 500));
    }
    // The servers' processes, found by their listening ports (shared with any other work on the machine).
    const servers: Array<{ name: string; pid: number }> = [];
    for (const [name, list] of [
      ['kafka', brokers],
      ['cassandra', contactPoints],
      ['redis', redisUrl],
      ['schema registry', registryUrl],
    ] as const) {
      const port = portsOf(list)[0];
      const pid = port === undefined ? null : findListeningPid(port);
      if (pid !== null) servers.push({ name: `${name} (shared server)`, pid });
    }
    return {
      mode: 'stack',
      gatewayWsUrls: gatewayUrls,
      signer: { alg: 'ES256', kid, privateJwk, issuer: ISSUER, audience: AUDIENCE },
      environment: {
        kafka: { brokers, namespace },
        schemaRegistry: registryUrl,
        cassandra: { contactPoints, keyspace },
        redis: redisUrl,
        services: processes.map((proc) => ({ name: proc.name, pid: proc.child.pid, log: proc.logFile })),
        env: options.env,
      },
      serverProcesses: () => [...processes.map((proc) => ({ name: proc.name, pid: proc.child.pid ?? 0 })), ...servers],
      gatewayProcesses: () => gateways.map((proc) => ({ pid: proc.child.pid ?? 0, opsUrl: proc.opsUrl })),
      metricsSources: () => ({ opsUrls: processes.map((proc) => proc.opsUrl), namespace }),
      workCounts: async () => {
        await admin.connect();
        return readWorkCounts(cql, admin, keyspace, namespace);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
