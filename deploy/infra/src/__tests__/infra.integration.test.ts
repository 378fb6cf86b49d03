/**
 * The native infrastructure against real servers, in a state dir and on ports of its own, so it never
 * touches the servers an outer `npm test` (or a developer's `npm run infra -- up`) runs on the defaults.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ensureInfra, infraStatus, InfraError, stopInfra, type InfraOptions, type InfraPorts } from '../index.js';
import { isProcessRunning, readPidFile } from '../internal/process.js';

/**
 * A free port below Linux's ephemeral range (32768-60999): a port from `listen(0)` lies inside it, and
 * on a busy machine an outgoing connection can take it in the seconds before a JVM binds it.
 */
const handedOut = new Set<number>();
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    // Six picks from one range may repeat: a port is handed out once per run.
    if (handedOut.has(port)) continue;
    const server = createServer();
    const free = await new Promise<boolean>((resolvePromise) => {
      server.once('error', () => resolvePromise(false));
      server.listen(port, '127.0.0.1', () => resolvePromise(true));
    });
    if (free) {
      await new Promise((resolvePromise) => server.close(resolvePromise));
      handedOut.add(port);
      return port;
    }
  }
}

async function isolatedOptions(components: InfraOptions['components']): Promise<InfraOptions & { stateDir: string }> {
  const ports: InfraPorts = {
    kafka: await freePort(),
    kafkaController: await freePort(),
    cassandra: await freePort(),
    cassandraStorage: await freePort(),
    redis: await freePort(),
    schemaRegistry: await freePort(),
    s3: await freePort(),
  };
  return {
    components,
    stateDir: mkdtempSync(join(tmpdir(), 'chatmesh-infra-it-')),
    ports,
    log: (line) => console.log(`  [infra] ${line}`),
  };
}

/** SIGKILL is asynchronous: wait until the kernel has ended the process before asserting on its absence. */
async function killAndWait(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (isProcessRunning(pid)) {
    assert.ok(Date.now() < deadline, `pid ${pid} survived SIGKILL`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 20));
  }
}

/**
 * node:test runs no `after` hook when the process gets SIGINT or SIGTERM (Ctrl-C, or `npm test` being
 * stopped), and these servers are detached: stop them here so they are never orphaned.
 */
const cleanups = new Set<() => Promise<unknown>>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.allSettled([...cleanups].map((cleanup) => cleanup())).finally(() => process.exit(1));
  });
}

function pidOf(stateDir: string, component: string): number | undefined {
  return readPidFile(join(stateDir, component, `${component}.pid`))?.pid;
}

describe('kafka, cassandra and redis in an isolated state dir', { timeout: 600_000 }, () => {
  let options: InfraOptions & { stateDir: string };
  const cleanup = (): Promise<unknown> => stopInfra({ ...options, wipe: true });
  before(async () => {
    options = await isolatedOptions(['kafka', 'cassandra', 'redis']);
    cleanups.add(cleanup);
  });
  after(async () => {
    // Whatever a failed assertion left running.
    await cleanup().catch(() => {});
    cleanups.delete(cleanup);
    rmSync(options.stateDir, { recursive: true, force: true });
  });

  test('up starts every server and the health checks report the real versions', async () => {
    const result = await ensureInfra(options);
    assert.deepEqual(result.started, ['kafka', 'cassandra', 'redis']);
    assert.deepEqual(result.reused, []);
    assert.equal(result.health.kafka?.version, '4.1.1');
    assert.equal(result.health.cassandra?.version, '5.0.6');
    assert.match(result.health.redis?.version ?? '', /^7\.\d+\.\d+$/);
    assert.deepEqual(result.endpoints.kafkaBrokers, [`127.0.0.1:${options.ports?.kafka}`]);
    assert.equal(result.endpoints.redisUrl, `redis://127.0.0.1:${options.ports?.redis}`);
    assert.equal(result.endpoints.cassandraLocalDataCenter, 'datacenter1');

    const statuses = await infraStatus(options);
    for (const status of statuses) {
      assert.equal(status.state, 'running', status.component);
      assert.equal(status.health?.healthy, true, status.component);
      assert.ok((status.rssBytes ?? 0) > 1024 * 1024, `${status.component} has an RSS`);
    }
    console.log(
      `  up in ${result.elapsedMs} ms; RSS ${statuses.map((s) => `${s.component} ${Math.round((s.rssBytes ?? 0) / 2 ** 20)} MB`).join(', ')}`,
    );
  });

  test('a second up starts nothing: same pids, everything reused', async () => {
    const pidsBefore = ['kafka', 'cassandra', 'redis'].map((component) => pidOf(options.stateDir, component));
    const result = await ensureInfra(options);
    assert.deepEqual(result.started, []);
    assert.deepEqual(result.reused, ['kafka', 'cassandra', 'redis']);
    assert.deepEqual(
      ['kafka', 'cassandra', 'redis'].map((component) => pidOf(options.stateDir, component)),
      pidsBefore,
    );
  });

  test('after one server crashes, up restarts only that one', async () => {
    const redisPid = pidOf(options.stateDir, 'redis');
    const kafkaPid = pidOf(options.stateDir, 'kafka');
    assert.ok(redisPid !== undefined && kafkaPid !== undefined);
    await killAndWait(redisPid);
    const result = await ensureInfra(options);
    assert.deepEqual(result.started, ['redis']);
    assert.deepEqual(result.reused, ['kafka', 'cassandra']);
    assert.notEqual(pidOf(options.stateDir, 'redis'), redisPid);
    assert.equal(pidOf(options.stateDir, 'kafka'), kafkaPid);
  });

  test('down after a SIGKILLed server still stops the others and clears every pid file', async () => {
    const pids = Object.fromEntries(
      ['kafka', 'cassandra', 'redis'].map((component) => [component, pidOf(options.stateDir, component)]),
    );
    await killAndWait(pids.kafka as number);

    const before = await infraStatus(options);
    assert.equal(before.find((status) => status.component === 'kafka')?.state, 'crashed');

    const outcomes = await stopInfra(options);
    const byComponent = Object.fromEntries(outcomes.map((outcome) => [outcome.component, outcome.outcome]));
    assert.equal(byComponent.kafka, 'stale');
    assert.ok(['exited', 'killed'].includes(byComponent.cassandra ?? ''), `cassandra ${byComponent.cassandra}`);
    assert.equal(byComponent.redis, 'exited');
    for (const [component, pid] of Object.entries(pids)) {
      assert.equal(isProcessRunning(pid as number), false, `${component} pid ${pid} still runs`);
      assert.equal(
        existsSync(join(options.stateDir, component, `${component}.pid`)),
        false,
        `${component} pid file left`,
      );
    }
    const after = await infraStatus(options);
    assert.deepEqual(
      after.map((status) => status.state),
      ['stopped', 'stopped', 'stopped'],
    );
    // Data survives a plain down: the next up reuses the formatted Kafka log dir.
    assert.ok(existsSync(join(options.stateDir, 'kafka', 'data', 'meta.properties')));
  });

  test('down --wipe removes the data', async () => {
    await stopInfra({ ...options, wipe: true });
    assert.equal(existsSync(join(options.stateDir, 'kafka')), false);
    assert.equal(existsSync(join(options.stateDir, 'cassandra')), false);
  });
});

describe('failures say what is wrong', { timeout: 120_000 }, () => {
  let blocker: Server | undefined;
  let options: InfraOptions & { stateDir: string };
  const cleanup = (): Promise<unknown> => stopInfra(options);
  before(async () => {
    options = await isolatedOptions(['redis']);
    cleanups.add(cleanup);
  });
  after(async () => {
    blocker?.close();
    await cleanup().catch(() => {});
    cleanups.delete(cleanup);
    rmSync(options.stateDir, { recursive: true, force: true });
  });

  test('a port taken by a foreign process is CM_ERR_INFRA_PORT_IN_USE, and nothing is left behind', async () => {
    blocker = createServer();
    await new Promise<void>((resolvePromise) => blocker?.listen(options.ports?.redis, '127.0.0.1', resolvePromise));
    await assert.rejects(ensureInfra(options), (error: unknown) => {
      assert.ok(error instanceof InfraError);
      assert.equal(error.code, 'CM_ERR_INFRA_PORT_IN_USE');
      assert.equal(error.component, 'redis');
      assert.match(error.message, new RegExp(String(options.ports?.redis)));
      return true;
    });
    assert.equal(existsSync(join(options.stateDir, 'redis', 'redis.pid')), false);
    const [status] = await infraStatus(options);
    assert.equal(status?.state, 'foreign');
  });

  test('a server that dies at start is CM_ERR_INFRA_START_FAILED with its log tail', async () => {
    blocker?.close();
    blocker = undefined;
    // Redis refuses an unknown directive and exits at once; the error must carry its own words.
    const broken = {
      ...options,
      env: { ...process.env, PATH: `${join(options.stateDir, 'fake-bin')}:${process.env.PATH}` },
    };
    const { mkdirSync, writeFileSync, chmodSync } = await import('node:fs');
    mkdirSync(join(options.stateDir, 'fake-bin'), { recursive: true });
    const fake = join(options.stateDir, 'fake-bin', 'redis-server');
    writeFileSync(
      fake,
      '#!/bin/sh\n[ "$1" = "--version" ] && exit 0\necho "FATAL: simulated start failure" >&2\nexit 7\n',
    );
    chmodSync(fake, 0o755);
    await assert.rejects(ensureInfra(broken), (error: unknown) => {
      assert.ok(error instanceof InfraError);
      assert.equal(error.code, 'CM_ERR_INFRA_START_FAILED');
      assert.match(error.message, /simulated start failure/);
      assert.equal(error.logFile, join(options.stateDir, 'redis', 'redis.log'));
      return true;
    });
    assert.match(readFileSync(join(options.stateDir, 'redis', 'redis.log'), 'utf8'), /simulated/);
    assert.equal(existsSync(join(options.stateDir, 'redis', 'redis.pid')), false);
  });
});
