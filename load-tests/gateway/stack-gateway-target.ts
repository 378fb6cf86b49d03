import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startStackTarget } from '../message-path/stack-target.js';
import { BenchError } from '../src/index.js';
import { freePort, REPO_ROOT } from './embedded-process.js';

/** A gateway the latency benchmark's clients connect to, and how to get tokens for it. */
export interface GatewayTarget {
  /** `http://127.0.0.1:<port>`. */
  readonly gatewayUrl: string;
  /** What ran where, stored with the result. */
  readonly environment: Readonly<Record<string, unknown>>;
  token(userId: string, deviceId: string): Promise<string>;
  stop(): Promise<void>;
}

const ISSUER = 'chatmesh-dev';
const AUDIENCE = 'chatmesh';
const KID = 'bench-key';

/**
 * Stack mode: ingest and fan-out as processes on the real Kafka, registry, Cassandra (fresh keyspace) and
 * Redis (message-path's {@link startStackTarget}), plus the delivery gateway as its own process
 * (`services/delivery-gateway/src/main.ts`, `CHATMESH_MODE=stack`) checking tokens against a JWKS this
 * process serves (ES256; the benchmark signs the tokens with the matching private key).
 * @throws BenchError `CM_ERR_BENCH_SETUP_FAILED` / `CM_ERR_BENCH_TIMEOUT` when a service does not come up
 */
export async function startStackGatewayTarget(options: {
  readonly logDir: string;
  readonly readyTimeoutMs: number;
}): Promise<GatewayTarget> {
  const runId = randomUUID().slice(0, 8);
  const gatewayId = `bench-lat-${runId}`;
  mkdirSync(options.logDir, { recursive: true });
  const core = await startStackTarget({
    runId,
    gatewayTopics: [`gateway.${gatewayId}.deliveries`],
    logLevel: 'warn',
    cpuProfileDir: undefined,
    keepKeyspace: false,
    logDir: options.logDir,
  });
  const keys = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  const jwks: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((done) => jwks.listen(0, '127.0.0.1', done));
  const closeJwks = (): Promise<void> => new Promise((done) => jwks.close(() => done()));

  const env = core.environment as {
    kafka: { brokers: string[] };
    schemaRegistry: { url: string };
    cassandra: { contactPoints: string[]; keyspace: string };
    redis: { url: string };
  };
  const gatewayPort = await freePort();
  // Readiness is served by the ops server, not on the gateway's public port.
  const opsPort = await freePort();
  const logFile = join(options.logDir, 'delivery-gateway.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', join('services', 'delivery-gateway', 'src', 'main.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CHATMESH_MODE: 'stack',
      CHATMESH_LOG_LEVEL: 'warn',
      CHATMESH_HTTP_HOST: '127.0.0.1',
      CHATMESH_HTTP_PORT: String(opsPort),
      CHATMESH_GATEWAY_PORT: String(gatewayPort),
      CHATMESH_GATEWAY_ID: gatewayId,
      CHATMESH_AUTH_ISSUER: ISSUER,
      CHATMESH_AUTH_AUDIENCE: AUDIENCE,
      CHATMESH_AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      KAFKA_BROKERS: env.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: env.schemaRegistry.url,
      CASSANDRA_CONTACT_POINTS: env.cassandra.contactPoints.join(','),
      CASSANDRA_KEYSPACE: env.cassandra.keyspace,
      REDIS_URL: env.redis.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exitCode: number | string | undefined;
  const exited = new Promise<void>((done) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      done();
    }),
  );
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const stop = async (): Promise<void> => {
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await closeJwks();
    await core.stop();
  };
  try {
    const deadline = Date.now() + options.readyTimeoutMs;
    for (;;) {
      if (exitCode !== undefined) {
        throw new BenchError('CM_ERR_BENCH_SETUP_FAILED', `the gateway exited with ${exitCode}; see ${logFile}`, {
          context: { phase: 'stack', logFile },
        });
      }
      const coreReady = await core.isReady();
      const gatewayReady = await fetch(`http://127.0.0.1:${opsPort}/ready`).then(
        (response) => response.status === 200,
        () => false,
      );
      if (coreReady && gatewayReady) break;
      if (Date.now() > deadline) {
        throw new BenchError('CM_ERR_BENCH_TIMEOUT', `stack services not ready in time; logs in ${options.logDir}`, {
          context: { phase: 'stack', coreReady, gatewayReady },
        });
      }
      await new Promise((done) => setTimeout(done, 500));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    gatewayUrl,
    environment: { ...core.environment, gateway: { id: gatewayId, log: logFile } },
    async token(userId, deviceId) {
      return new SignJWT({ did: deviceId })
        .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(keys.privateKey);
    },
    stop,
  };
}
