import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawnLauncher, waitFor, within, type LauncherProcess } from './launcher-process.js';

// tsx compiles every package on first start; other helpers load the machine too.
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const started: LauncherProcess[] = [];
after(() => {
  for (const proc of started) if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
});

test('embedded launcher prints its URL, answers /health and /ready, and exits 0 on SIGTERM', async () => {
  const proc = spawnLauncher('src/embedded-main.ts', {
    CHATMESH_HTTP_PORT: '0',
    CHATMESH_GATEWAY_PORT: '0',
    CHATMESH_LOG_LEVEL: 'warn',
  });
  started.push(proc);
  const url = await waitFor(
    () => /ops {6}: (http:\/\/127\.0\.0\.1:\d+)\//.exec(proc.stdout())?.[1],
    START_TIMEOUT_MS,
    'the ops URL',
    proc,
  );
  assert.match(proc.stdout(), /EMBEDDED MODE IS NOT DURABLE/);
  assert.match(proc.stdout(), /services : ingest, fan-out, receipts, push, presence, delivery-gateway/);

  assert.equal((await fetch(`${url}/health`)).status, 200);
  // Services may become ready after the URL is printed (a consumer joining its group), so poll.
  const ready = await waitFor(
    async () => {
      const response = await fetch(`${url}/ready`);
      return response.status === 200 ? response : undefined;
    },
    START_TIMEOUT_MS,
    '/ready to answer 200',
    proc,
  );
  const body = (await ready.json()) as { services: Record<string, { ready: boolean }> };
  assert.deepEqual(Object.keys(body.services).sort(), [
    'delivery-gateway',
    'fan-out',
    'ingest',
    'presence',
    'push',
    'receipts',
  ]);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /chatmesh_service_ready_boolean\{service="ingest"\} 1/);
  const root = (await (await fetch(`${url}/`)).json()) as { mode: string; durable: boolean; bus: string };
  assert.deepEqual([root.mode, root.durable, root.bus], ['embedded', false, 'memory']);

  proc.child.kill('SIGTERM');
  assert.equal(await within(proc.exited, STOP_TIMEOUT_MS, 'the exit after SIGTERM', proc), 0);
  assert.match(proc.stdout(), /stopped cleanly/);
});

test('CHATMESH_SERVICES limits what runs', async () => {
  const proc = spawnLauncher('src/embedded-main.ts', {
    CHATMESH_HTTP_PORT: '0',
    CHATMESH_LOG_LEVEL: 'warn',
    CHATMESH_SERVICES: 'push,ingest',
  });
  started.push(proc);
  const url = await waitFor(
    () => /ops {6}: (http:\/\/127\.0\.0\.1:\d+)\//.exec(proc.stdout())?.[1],
    START_TIMEOUT_MS,
    'the ops URL',
    proc,
  );
  const body = (await (await fetch(`${url}/ready`)).json()) as { services: Record<string, unknown> };
  assert.deepEqual(Object.keys(body.services), ['ingest', 'push']);
  proc.child.kill('SIGINT');
  assert.equal(await within(proc.exited, STOP_TIMEOUT_MS, 'the exit after SIGINT', proc), 0);
});

for (const [name, env, variable] of [
  [
    'a non-numeric port',
    { CHATMESH_HTTP_PORT: 'abc' },
    /CHATMESH_HTTP_PORT="abc" is not a valid port: expected an integer 0-65535/,
  ],
  [
    'an unknown mode',
    { CHATMESH_MODE: 'bogus' },
    /CHATMESH_MODE="bogus" is not a valid mode: expected one of embedded, stack/,
  ],
  [
    'an inbox kept longer than the chat log it points into',
    { CHATMESH_RETENTION_CHAT_LOG_SECONDS: '3600', CHATMESH_RETENTION_INBOX_SECONDS: '7200' },
    /CHATMESH_RETENTION_INBOX_SECONDS=7200 outlives the chat log it points into/,
  ],
  [
    'stack mode with npm start',
    {
      CHATMESH_MODE: 'stack',
      KAFKA_BROKERS: 'a:1',
      SCHEMA_REGISTRY_URL: 'http://a',
      CASSANDRA_CONTACT_POINTS: 'a:2',
      REDIS_URL: 'redis://a',
    },
    /CHATMESH_MODE="stack" is not valid for `npm start`/,
  ],
] as const) {
  test(`embedded launcher refuses ${name} with exit code 2 and no stack trace`, async () => {
    const proc = spawnLauncher('src/embedded-main.ts', { ...env });
    started.push(proc);
    assert.equal(await within(proc.exited, START_TIMEOUT_MS, 'the exit', proc), 2);
    assert.match(proc.stderr(), variable);
    assert.match(proc.stderr(), /^chatmesh: Invalid configuration/);
    assert.doesNotMatch(proc.stderr(), /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(proc.stdout(), /EMBEDDED MODE/, 'nothing started');
  });
}

test('the stack launcher without endpoints says how to start the servers and exits 2', async () => {
  const proc = spawnLauncher('src/stack-main.ts', {});
  started.push(proc);
  assert.equal(await within(proc.exited, START_TIMEOUT_MS, 'the exit', proc), 2);
  for (const variable of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'CASSANDRA_CONTACT_POINTS', 'REDIS_URL']) {
    assert.match(proc.stderr(), new RegExp(`${variable} is not set: it is required when CHATMESH_MODE=stack`));
  }
  assert.match(proc.stderr(), /npm run infra -- up/);
  assert.match(proc.stderr(), /eval "\$\(npm run -s infra -- env --export\)"/);
  assert.doesNotMatch(proc.stderr(), /\n\s+at /);
});
