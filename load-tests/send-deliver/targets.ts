/**
 * Where the send → deliver benchmark's devices connect:
 *
 * - **embedded**: `npm start`'s launcher (all six services on the memory bus, store and presence) as one
 *   child process; tokens are HS256 signed with a development secret the benchmark gives it.
 * - **stack**: ingest and fan-out as processes on the real Kafka, registry, Cassandra (a fresh keyspace)
 *   and Redis (message-path's {@link startStackTarget}, with its consumer-group checks), plus `gateways`
 *   delivery-gateway processes (`CHATMESH_MODE=stack`, unique ids `sd-<run>-<n>`), checking ES256 tokens
 *   against a JWKS this process serves. Receipts, presence and push do not run in stack mode.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { freePort, REPO_ROOT, startEmbeddedProcess } from '../gateway/embedded-process.js';
import { startStackTarget } from '../message-path/stack-target.js';
import { BenchError } from '../src/index.js';
import { childProcesses, findListeningPid, portsOf } from './cpu.js';
import type { TokenSigner } from './tokens.js';

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
  stop(): Promise<void>;
}

/** Embedded mode: the launcher with `env` (rate limits) on top of its defaults. */
export async function startEmbedded(options: {
  logDir: string;
  readyTimeoutMs: number;
  env: Readonly<Record<string, string>>;
}): Promise<SendDeliverTarget> {
  const secret = randomBytes(32).toString('base64url');
  const embedded = await startEmbeddedProcess({
    logDir: options.logDir,
    readyTimeoutMs: options.readyTimeoutMs,
    fdLimit: 20_000,
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
    stop: () => embedded.stop(),
  };
}

interface GatewayProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly logFile: string;
  exitCode: number | string | undefined;
  readonly exited: Promise<void>;
}

/** Stack mode: see the file comment. `env` (rate limits) goes to every service process. */
export async function startStack(options: {
  runId: string;
  logDir: string;
  readyTimeoutMs: number;
  gateways: number;
  env: Readonly<Record<string, string>>;
}): Promise<SendDeliverTarget> {
  mkdirSync(options.logDir, { recursive: true });
  const gatewayIds = Array.from({ length: options.gateways }, (_, n) => `sd-${options.runId}-${n}`);
  // startStackTarget hands its own environment to ingest and fan-out: the overrides go there.
  for (const [name, value] of Object.entries(options.env)) process.env[name] = value;
  const core = await startStackTarget({
    runId: options.runId,
    gatewayTopics: gatewayIds.map((id) => `gateway.${id}.deliveries`),
    logLevel: 'warn',
    cpuProfileDir: undefined,
    keepKeyspace: false,
    logDir: options.logDir,
  });
  const keys = await generateKeyPair('ES256', { extractable: true });
  const kid = `sd-${options.runId}`;
  const jwk = { ...(await exportJWK(keys.publicKey)), kid, alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(keys.privateKey)), kid, alg: 'ES256' };
  const jwks: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((done) => jwks.listen(0, '127.0.0.1', done));
  const env = core.environment as {
    kafka: { brokers: string[] };
    schemaRegistry: { url: string };
    cassandra: { contactPoints: string[]; keyspace: string };
    redis: { url: string };
  };
  const gateways: GatewayProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const gateway of gateways) if (gateway.exitCode === undefined) gateway.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const gateway of gateways) if (gateway.exitCode === undefined) gateway.child.kill('SIGKILL');
    }, 20_000);
    await Promise.all(gateways.map((gateway) => gateway.exited));
    clearTimeout(timer);
    await new Promise<void>((done) => jwks.close(() => done()));
    await core.stop();
  };
  try {
    for (const id of gatewayIds) {
      const port = await freePort();
      const logFile = join(options.logDir, `delivery-gateway-${id}.log`);
      const log = createWriteStream(logFile, { flags: 'a' });
      const entry = join('services', 'delivery-gateway', 'src', 'main.ts');
      // bash only raises the open files limit, then becomes node (exec), so the pid is node's.
      const child = spawn(
        'bash',
        ['-c', `ulimit -n 20000 && exec ${JSON.stringify(process.execPath)} --import tsx ${entry}`],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            CHATMESH_MODE: 'stack',
            CHATMESH_LOG_LEVEL: 'warn',
            CHATMESH_HTTP_HOST: '127.0.0.1',
            CHATMESH_HTTP_PORT: String(await freePort()),
            CHATMESH_GATEWAY_PORT: String(port),
            CHATMESH_GATEWAY_ID: id,
            CHATMESH_AUTH_ISSUER: ISSUER,
            CHATMESH_AUTH_AUDIENCE: AUDIENCE,
            CHATMESH_AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
            KAFKA_BROKERS: env.kafka.brokers.join(','),
            SCHEMA_REGISTRY_URL: env.schemaRegistry.url,
            CASSANDRA_CONTACT_POINTS: env.cassandra.contactPoints.join(','),
            CASSANDRA_KEYSPACE: env.cassandra.keyspace,
            REDIS_URL: env.redis.url,
            ...options.env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      const gateway: GatewayProcess = {
        id,
        child,
        url: `http://127.0.0.1:${port}`,
        logFile,
        exitCode: undefined,
        exited: new Promise<void>((done) =>
          child.once('exit', (code, signal) => {
            gateway.exitCode = code ?? signal ?? 'unknown';
            done();
          }),
        ),
      };
      gateways.push(gateway);
    }
    const deadline = Date.now() + options.readyTimeoutMs;
    for (;;) {
      const dead = gateways.find((gateway) => gateway.exitCode !== undefined);
      if (dead) {
        throw new BenchError(
          'CM_ERR_BENCH_SETUP_FAILED',
          `gateway ${dead.id} exited with ${dead.exitCode}; see ${dead.logFile}`,
          {
            context: { phase: 'stack', logFile: dead.logFile },
          },
        );
      }
      const coreReady = await core.isReady();
      const ready = await Promise.all(
        gateways.map((gateway) =>
          fetch(`${gateway.url}/ready`).then(
            (response) => response.status === 200,
            () => false,
          ),
        ),
      );
      if (coreReady && ready.every(Boolean)) break;
      if (Date.now() > deadline) {
        throw new BenchError('CM_ERR_BENCH_TIMEOUT', `stack services not ready in time; logs in ${options.logDir}`, {
          context: { phase: 'stack', coreReady, gatewaysReady: ready },
        });
      }
      await new Promise((done) => setTimeout(done, 500));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  // The servers' processes, found by their listening ports (shared with any other work on the machine).
  const servers: Array<{ name: string; pid: number }> = [];
  const endpoints: Array<[string, string]> = [
    ['kafka', env.kafka.brokers.join(',')],
    ['cassandra', env.cassandra.contactPoints.join(',')],
    ['redis', env.redis.url],
    ['schema registry', env.schemaRegistry.url],
  ];
  for (const [name, list] of endpoints) {
    const port = portsOf(list)[0];
    const pid = port === undefined ? null : findListeningPid(port);
    if (pid !== null) servers.push({ name: `${name} (shared server)`, pid });
  }
  const services = childProcesses(process.pid).flatMap((proc) => {
    const match = /services\/(ingest|fan-out)\/src\/main\.ts/.exec(proc.cmdline);
    return match ? [{ name: match[1]!, pid: proc.pid }] : [];
  });
  return {
    mode: 'stack',
    gatewayWsUrls: gateways.map((gateway) => `${gateway.url.replace(/^http/, 'ws')}/v1/ws`),
    signer: { alg: 'ES256', kid, privateJwk, issuer: ISSUER, audience: AUDIENCE },
    environment: {
      ...core.environment,
      gateways: gateways.map((gateway) => ({ id: gateway.id, log: gateway.logFile, pid: gateway.child.pid })),
      env: options.env,
      notRunning:
        'receipts, presence and push (not on the send → deliver path); DELIVERED reports stay on the receipts topic',
    },
    serverProcesses: () => [
      ...services,
      ...gateways.map((gateway, n) => ({ name: `gateway ${n}`, pid: gateway.child.pid ?? 0 })),
      ...servers,
    ],
    stop,
  };
}
