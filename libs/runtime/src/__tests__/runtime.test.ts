import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createMemoryStore } from '@chatmesh/store';
import { createMemoryBus } from '@chatmesh/bus';
import { ConfigError, loadConfig } from '@chatmesh/config';
import { isChatmeshError } from '@chatmesh/errors';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import {
  installShutdown,
  runMain,
  startRuntime,
  startServiceGroup,
  type HealthReport,
  type ProcessLike,
  type ServiceModule,
} from '../index.js';
import { createFakeCodec, memoryLogger, waitFor } from './helpers.js';

/** A service whose readiness the test controls, recording start/stop order. */
function fakeService(name: string, events: string[], options: { failStart?: boolean } = {}) {
  let status: HealthReport['status'] = 'starting';
  const module: ServiceModule = {
    name,
    description: `fake ${name}`,
    consumes: ['in'],
    produces: ['out'],
    async start(deps) {
      assert.equal(typeof deps.typed.send, 'function');
      if (options.failStart) throw new Error(`${name} cannot start`);
      events.push(`start:${name}`);
      return {
        name,
        async stop() {
          events.push(`stop:${name}`);
          status = 'stopped';
        },
        health: () => ({ status, ready: status === 'ready' }),
      };
    },
  };
  return { module, setReady: () => (status = 'ready') };
}

function sharedDeps() {
  const registry = createMetricsRegistry();
  const metrics = createChatmeshMetrics(registry);
  const { logger, lines } = memoryLogger();
  return {
    config: loadConfig({ env: { CHATMESH_HTTP_PORT: '0' } }),
    logger,
    lines,
    registry,
    metrics,
    bus: createMemoryBus(),
    codec: createFakeCodec(),
    store: createMemoryStore(),
    presence: createMemoryPresenceRegistry(),
  };
}

test('ops server: /health, /ready (503 until every service is ready, and while draining), /metrics, /', async () => {
  const deps = sharedDeps();
  const events: string[] = [];
  const a = fakeService('alpha', events);
  const b = fakeService('beta', events);
  const runtime = await startRuntime({ ...deps, modules: [a.module, b.module] });
  try {
    assert.match(runtime.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(runtime.ops.port, 0);
    const get = (path: string) => fetch(`${runtime.url}${path}`);

    assert.equal((await get('/health')).status, 200);
    const notReady = await get('/ready');
    assert.equal(notReady.status, 503);
    assert.equal(
      ((await notReady.json()) as { services: Record<string, HealthReport> }).services.alpha?.status,
      'starting',
    );

    a.setReady();
    assert.equal((await get('/ready')).status, 503, 'beta is not ready yet');
    b.setReady();
    const ready = await get('/ready');
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);

    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    const text = await metrics.text();
    assert.match(text, /chatmesh_service_ready_boolean\{service="alpha"\} 1/);
    assert.match(text, /chatmesh_service_up_boolean\{service="beta"\} 1/);
    assert.match(text, /# TYPE chatmesh_bus_records_consumed_total counter/);
    assert.match(text, /nodejs_eventloop_lag_seconds/);

    const root = (await (await get('/')).json()) as { mode: string; bus: string; services: Record<string, string> };
    assert.equal(root.mode, 'embedded');
    assert.equal(root.bus, 'memory');
    assert.deepEqual(root.services, { alpha: 'ready', beta: 'ready' });
    assert.equal((await get('/nope')).status, 404);

    runtime.drain();
    assert.equal((await get('/ready')).status, 503, 'draining makes /ready fail first');
    assert.equal((await get('/health')).status, 200, 'draining is still alive');
  } finally {
    await runtime.stop();
  }
  assert.deepEqual(events, ['start:alpha', 'start:beta', 'stop:beta', 'stop:alpha']);
});

test('a service failing to start stops the ones already started and reports the failure with its code', async () => {
  const deps = sharedDeps();
  const events: string[] = [];
  await assert.rejects(
    startServiceGroup(
      [
        fakeService('one', events).module,
        fakeService('two', events).module,
        fakeService('three', events, { failStart: true }).module,
      ],
      deps,
    ),
    (error: unknown) => {
      assert.ok(isChatmeshError(error, 'CM_ERR_RUNTIME_SERVICE_START_FAILED'));
      assert.match(String((error.cause as Error).message), /three cannot start/);
      return true;
    },
  );
  assert.deepEqual(events, ['start:one', 'start:two', 'stop:two', 'stop:one']);
  await deps.bus.close();
});

test('the same service twice is refused', async () => {
  const deps = sharedDeps();
  const events: string[] = [];
  await assert.rejects(
    startServiceGroup([fakeService('one', events).module, fakeService('one', events).module], deps),
    (error: unknown) => isChatmeshError(error, 'CM_ERR_RUNTIME_DUPLICATE_SERVICE'),
  );
  assert.deepEqual(events, []);
  await deps.bus.close();
});

function fakeProcess(): ProcessLike & { exits: number[]; emitter: EventEmitter } {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    emitter,
    exits,
    on: (event, listener) => emitter.on(event, listener),
    once: (event, listener) => emitter.once(event, listener),
    off: (event, listener) => emitter.off(event, listener),
    exit: (code) => {
      exits.push(code);
    },
  };
}

test('shutdown: first signal drains, stops and exits 0', async () => {
  const proc = fakeProcess();
  const steps: string[] = [];
  const { logger } = memoryLogger();
  const shutdown = installShutdown({
    process: proc,
    logger,
    timeoutMs: 5_000,
    onDrain: () => steps.push('drain'),
    stop: async () => {
      steps.push('stop');
    },
  });
  proc.emitter.emit('SIGTERM', 'SIGTERM');
  await waitFor(() => proc.exits.length > 0, 2_000, 'exit');
  assert.deepEqual(steps, ['drain', 'stop']);
  assert.deepEqual(proc.exits, [0]);
  shutdown.dispose();
  assert.equal(proc.emitter.listenerCount('SIGTERM'), 0);
});

test('shutdown: a second signal forces exit 1 while stopping', async () => {
  const proc = fakeProcess();
  const { logger } = memoryLogger();
  let release: () => void = () => {};
  installShutdown({
    process: proc,
    logger,
    timeoutMs: 60_000,
    stop: () => new Promise<void>((resolve) => (release = resolve)),
  });
  proc.emitter.emit('SIGINT', 'SIGINT');
  proc.emitter.emit('SIGINT', 'SIGINT');
  assert.deepEqual(proc.exits, [1]);
  release();
  await waitFor(() => proc.exits.length === 2, 2_000, 'the late clean exit');
});

test('shutdown: a stop that outlives the timeout forces exit 1 with CM_ERR_RUNTIME_SHUTDOWN_TIMEOUT logged', async () => {
  const proc = fakeProcess();
  const { logger, lines } = memoryLogger();
  const shutdown = installShutdown({ process: proc, logger, timeoutMs: 50, stop: () => new Promise<void>(() => {}) });
  await shutdown.trigger('test');
  assert.deepEqual(proc.exits, [1]);
  assert.ok(
    lines().some((line) => (line.err as { code?: string } | undefined)?.code === 'CM_ERR_RUNTIME_SHUTDOWN_TIMEOUT'),
  );
});

test('runMain: a ConfigError prints the problems without a stack trace and exits 2', async () => {
  let printed = '';
  const exits: number[] = [];
  await runMain(
    async () => {
      loadConfig({ env: { CHATMESH_HTTP_PORT: 'abc' } });
    },
    { stderr: { write: (text: string) => (printed += text) }, exit: (code) => exits.push(code) },
  );
  assert.deepEqual(exits, [2]);
  assert.match(printed, /CHATMESH_HTTP_PORT="abc" is not a valid port: expected an integer 0-65535/);
  assert.doesNotMatch(printed, /\n\s+at /, 'no stack trace');
  assert.ok(new ConfigError([]) instanceof Error);
});

test('runMain: another start failure prints code and cause and exits 1', async () => {
  let printed = '';
  const exits: number[] = [];
  const deps = sharedDeps();
  await runMain(
    async () => {
      await startServiceGroup([fakeService('x', [], { failStart: true }).module], deps);
    },
    { stderr: { write: (text: string) => (printed += text) }, exit: (code) => exits.push(code) },
  );
  assert.deepEqual(exits, [1]);
  assert.match(
    printed,
    /\[CM_ERR_RUNTIME_SERVICE_START_FAILED\] service "x" failed to start\n  caused by: x cannot start/,
  );
  await deps.bus.close();
});

test('collectConfigSections merges the sections of the modules and refuses two under one key', async () => {
  const { collectConfigSections, RETENTION_CONFIG } = await import('../index.js');
  const { defineConfigSection } = await import('@chatmesh/config');
  const a = defineConfigSection({ description: 'a', variables: {} });
  const b = defineConfigSection({ description: 'b', variables: {} });
  const events: string[] = [];
  const withA = { ...fakeService('one', events).module, config: { shared: a } };
  const withAAgain = { ...fakeService('two', events).module, config: { shared: a } };
  const withB = { ...fakeService('three', events).module, config: { shared: b } };
  // Retention is every process's section (each one writes or reads the logs it bounds).
  assert.deepEqual(collectConfigSections([withA, withAAgain], { own: b }), {
    retention: RETENTION_CONFIG,
    own: b,
    shared: a,
  });
  assert.throws(
    () => collectConfigSections([withA, withB]),
    (error: unknown) => isChatmeshError(error, 'CM_ERR_CONFIG_SECTION_CONFLICT'),
  );
});

test('crash handlers log one fatal line with the error code and exit 70', async () => {
  const { installCrashHandlers, CRASH_EXIT_CODE } = await import('../index.js');
  const { ChatmeshError } = await import('@chatmesh/errors');
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const { logger, lines } = memoryLogger();
  installCrashHandlers(logger, {
    on: ((event: string, listener: (...args: unknown[]) => void) => emitter.on(event, listener)) as never,
    exit: ((code: number) => exits.push(code)) as never,
  });
  emitter.emit('unhandledRejection', new ChatmeshError('CM_ERR_COMMON_INTERNAL', 'broken'));
  assert.deepEqual(exits, [CRASH_EXIT_CODE]);
  const fatal = lines().find((line) => line.level === 'fatal');
  assert.equal((fatal?.err as { code?: string }).code, 'CM_ERR_COMMON_INTERNAL');
});
