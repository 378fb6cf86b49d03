/**
 * Keeps the Dockerfile honest without a Docker engine: compiles the image's bundles exactly as its build
 * stage does, then runs each entry the way the image does (`node chatmesh.mjs <entry>`, uid 1000, read-only
 * root filesystem) against real Kafka, Cassandra, Redis and the schema registry:
 * - `migrate` applies the CQL migrations and exits 0;
 * - every service serves `/health` and `/ready` (200) on its ops port, the gateway also answers on its
 *   own port, and each exits 0 soon after SIGTERM;
 * - the schema registry answers `/subjects` and exits 0 on SIGTERM;
 * - an unknown entry exits 2 with CM_ERR_CONFIG_INVALID.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { randomKeyspaceName, randomName, startStackServers, waitFor, type StackServers } from '@chatmesh/testing';

import { compileImageEntries } from '../compile.js';
import { IMAGE_ENTRY_NAMES } from '../entries.js';
import { containmentUnavailable, spawnContained } from './contained.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SERVICES = ['ingest', 'fan-out', 'receipts', 'push', 'presence', 'delivery-gateway'] as const;
const SHUTDOWN_TIMEOUT_MS = 10_000;

let servers: StackServers;
let dispatcher: string;
let baseEnv: NodeJS.ProcessEnv;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(entry: string, env: NodeJS.ProcessEnv): Running {
  const child = spawnContained([dispatcher, entry], env);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

async function status(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** SIGTERM, then the exit within the shutdown timeout plus a margin. */
async function stopAndExpectCleanExit(name: string, running: Running): Promise<void> {
  running.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), SHUTDOWN_TIMEOUT_MS + 5_000).unref(),
  );
  const result = await Promise.race([running.exited, timeout]);
  if (result === 'timeout') {
    running.child.kill('SIGKILL');
    assert.fail(`${name} did not exit within ${SHUTDOWN_TIMEOUT_MS + 5_000} ms of SIGTERM\n${running.output()}`);
  }
  assert.deepEqual(result, { code: 0, signal: null }, `${name} exit after SIGTERM\n${running.output()}`);
}

describe('image entry points (compiled bundles)', { timeout: 600_000 }, () => {
  before(async () => {
    const reason = containmentUnavailable();
    if (reason !== undefined)
      process.stdout.write(`NOTE: running the bundles uncontained (not as uid 1000 on a read-only root): ${reason}\n`);
    const bundles = await compileImageEntries(REPO_ROOT);
    dispatcher = bundles['chatmesh'] ?? assert.fail('no dispatcher bundle');
    servers = await startStackServers();
    const endpoints = servers.endpoints(randomKeyspaceName('images'));
    baseEnv = {
      PATH: process.env['PATH'],
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
      CASSANDRA_CONTACT_POINTS: endpoints.cassandraContactPoints.join(','),
      CASSANDRA_LOCAL_DC: endpoints.cassandraLocalDc,
      CASSANDRA_KEYSPACE: endpoints.keyspace,
      REDIS_URL: endpoints.redisUrl,
      CHATMESH_NAMESPACE: endpoints.namespace,
      CHATMESH_MODE: 'stack',
      CHATMESH_LOG_LEVEL: 'warn',
      CHATMESH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      // Fetched lazily at the first token; nothing here presents one.
      CHATMESH_AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    };
  });
  after(async () => {
    await servers?.stop();
  });

  test('every entry of the table was compiled', () => {
    const output = spawnSync('ls', [`${REPO_ROOT}/deploy/images/dist`], { encoding: 'utf8' }).stdout;
    for (const name of IMAGE_ENTRY_NAMES) assert.ok(output.includes(`${name}.mjs`), `${name}.mjs missing`);
  });

  test('an unknown entry exits 2 with CM_ERR_CONFIG_INVALID', async () => {
    const running = start('no-such-service', baseEnv);
    const { code } = await running.exited;
    assert.equal(code, 2);
    assert.match(running.output(), /CM_ERR_CONFIG_INVALID: unknown entry "no-such-service"/);
  });

  test('migrate applies the migrations and exits 0', async () => {
    const running = start('migrate', baseEnv);
    const result = await running.exited;
    assert.deepEqual(result, { code: 0, signal: null }, running.output());
    assert.match(running.output(), /applied migrations|is up to date/);
  });

  test('each service serves /health and /ready, then stops cleanly on SIGTERM', async () => {
    await Promise.all(
      SERVICES.map(async (service) => {
        const opsPort = await freePort();
        const env: NodeJS.ProcessEnv = {
          ...baseEnv,
          CHATMESH_HTTP_HOST: '127.0.0.1',
          CHATMESH_HTTP_PORT: String(opsPort),
          CHATMESH_GATEWAY_ID: randomName('gw').replaceAll('.', '-'),
        };
        let gatewayPort = 0;
        if (service === 'delivery-gateway') {
          gatewayPort = await freePort();
          env['CHATMESH_GATEWAY_HOST'] = '127.0.0.1';
          env['CHATMESH_GATEWAY_PORT'] = String(gatewayPort);
        }
        const running = start(service, env);
        const ops = `http://127.0.0.1:${opsPort}`;
        try {
          await waitFor(async () => (await status(`${ops}/health`)) === 200, {
            timeoutMs: 120_000,
            intervalMs: 250,
            description: `${service} /health`,
          });
          await waitFor(async () => (await status(`${ops}/ready`)) === 200, {
            timeoutMs: 120_000,
            intervalMs: 250,
            description: `${service} /ready`,
          });
          assert.equal(await status(`${ops}/metrics`), 200, `${service} /metrics`);
          if (service === 'delivery-gateway') {
            // An upgrade without a token is refused by the gateway itself: it listens on its own port.
            const refused = await status(`http://127.0.0.1:${gatewayPort}/v1/ws`);
            assert.ok(refused >= 400 && refused < 500, `gateway port answered ${refused}`);
          }
        } catch (error) {
          running.child.kill('SIGKILL');
          throw new Error(`${service}: ${(error as Error).message}\n${running.output()}`);
        }
        await stopAndExpectCleanExit(service, running);
      }),
    );
  });

  test('the schema registry answers /subjects and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const running = start('schema-registry', {
      ...baseEnv,
      SCHEMA_REGISTRY_HOST: '127.0.0.1',
      SCHEMA_REGISTRY_PORT: String(port),
      SCHEMA_REGISTRY_TOPIC: `_schemas-${randomName('images')}`,
    });
    try {
      await waitFor(async () => (await status(`http://127.0.0.1:${port}/subjects`)) === 200, {
        timeoutMs: 60_000,
        intervalMs: 250,
        description: 'schema registry /subjects',
      });
    } catch (error) {
      running.child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${running.output()}`);
    }
    await stopAndExpectCleanExit('schema-registry', running);
  });
});
