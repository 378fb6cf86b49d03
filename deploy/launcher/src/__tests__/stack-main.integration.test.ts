import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SERVICE_NAMES } from '@chatmesh/config';
import { startCassandra, startKafka, startRedis, startSchemaRegistry, type ProvidedServer } from '@chatmesh/testing';
import { Kafka, logLevel } from 'kafkajs';
import { spawnLauncher, waitFor, within, type LauncherProcess } from './launcher-process.js';

const servers: ProvidedServer[] = [];
let env: Record<string, string> = {};
let logDir = '';
let launcher: LauncherProcess | undefined;

before(async () => {
  const kafka = await startKafka();
  servers.push(kafka);
  const registry = await startSchemaRegistry();
  servers.push(registry);
  const cassandra = await startCassandra();
  servers.push(cassandra);
  const redis = await startRedis();
  servers.push(redis);
  logDir = mkdtempSync(join(tmpdir(), 'chatmesh-stack-logs-'));
  env = {
    KAFKA_BROKERS: kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: registry.url,
    CASSANDRA_CONTACT_POINTS: cassandra.contactPoints.join(','),
    REDIS_URL: redis.url,
    CHATMESH_STACK_BASE_PORT: String(await findConsecutiveFreePorts(SERVICE_NAMES.length)),
    CHATMESH_STACK_LOG_DIR: logDir,
    // Keys are fetched only when a token is checked; the gateway needs the setting to start in stack mode.
    CHATMESH_AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    CHATMESH_GATEWAY_PORT: '0',
  };
});

let passed = false;

after(async () => {
  // The launcher leads its own process group: kill the group, or its service processes outlive the test
  // and keep the test runner (and CI) waiting forever.
  if (launcher?.child.exitCode === null && launcher.child.signalCode === null) {
    try {
      process.kill(-launcher.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const server of servers.reverse()) await server.stop();
  if (!logDir) return;
  if (passed) {
    rmSync(logDir, { recursive: true, force: true });
    return;
  }
  // A failure keeps the services' logs and prints their last lines: they say why a service exited.
  for (const service of SERVICE_NAMES) {
    const log = join(logDir, `${service}.log`);
    if (!existsSync(log)) continue;
    const tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-8).join('\n');
    process.stderr.write(`--- ${log} (last lines)\n${tail}\n`);
  }
});

/** A base port such that `count` ports from it are free now (best effort: they are released before use). */
async function findConsecutiveFreePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const free = await Promise.all(Array.from({ length: count }, (_v, index) => isFree(base + index)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no run of free ports found');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

test('npm run stack: six processes against real Kafka and the registry, each ready on its own port, all stop on Ctrl-C', async () => {
  launcher = spawnLauncher('src/stack-main.ts', { ...env, CHATMESH_LOG_LEVEL: 'info' }, { ownProcessGroup: true });
  await waitFor(
    () => (/all services ready/.test(launcher!.stdout()) ? true : undefined),
    180_000,
    'every service ready',
    launcher,
  );

  const base = Number(env.CHATMESH_STACK_BASE_PORT);
  for (const [index, service] of SERVICE_NAMES.entries()) {
    const response = await fetch(`http://127.0.0.1:${base + index}/ready`);
    assert.equal(response.status, 200, service);
    const body = (await response.json()) as { services: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.services), [service], 'one service per process');
  }

  // The services created their topics and twins on the real broker.
  const admin = new Kafka({ brokers: env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    for (const topic of [
      'chat.commands',
      'chat.events',
      'user.inbox',
      'receipts',
      'push.requests',
      'presence.events',
      'ephemeral',
      'gateway.gateway-0.deliveries',
    ]) {
      assert.ok(topics.includes(topic), topic);
      assert.ok(topics.includes(`${topic}.dlq`), `${topic}.dlq`);
    }
  } finally {
    await admin.disconnect();
  }

  // Ctrl-C signals the terminal's whole foreground process group; each service must still stop cleanly (exit 0), not forced.
  process.kill(-launcher.child.pid!, 'SIGINT');
  assert.equal(await within(launcher.exited, 60_000, 'the stack to stop', launcher), 0);
  assert.match(launcher.stdout(), /"ingest":0,"fan-out":0,"receipts":0,"push":0,"presence":0,"delivery-gateway":0/);
  for (const service of SERVICE_NAMES) {
    const log = join(logDir, `${service}.log`);
    assert.ok(existsSync(log), log);
    assert.match(readFileSync(log, 'utf8'), /stopped cleanly/, `${service} stopped cleanly`);
  }
  passed = true;
});
