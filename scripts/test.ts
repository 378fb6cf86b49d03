/**
 * `npm test`: the whole test suite with real infrastructure, as kafkajs' `scripts/testWithKafka.sh` does
 * with docker-compose, but with the native servers of @chatmesh/infra (no Docker here).
 *
 *   1. fast checks: `turbo run check-types`, `turbo run lint`, `prettier --check .` (formatting, the whole
 *      repository), then the unit tests (`turbo run test`);
 *   2. brings up Kafka, Cassandra, Redis and the schema registry (skipping any whose endpoint the
 *      environment already gives: KAFKA_BROKERS / CHATMESH_TEST_KAFKA, ...), logging their versions;
 *   3. runs `turbo run test:integration --concurrency=1` with the endpoints exported to it;
 *   4. always stops what step 2 started (also on failure, SIGINT and SIGTERM).
 *
 * Exits non-zero on any failure and ends with a plain `N passed, N failed` line summed over every
 * node:test report it saw. CHATMESH_TEST_KEEP_INFRA=1 leaves the servers running for the next run.
 *
 * Options (after `npm test --`): `--filter <turbo filter>` (repeatable) narrows every turbo run, for
 * example `--filter @chatmesh/bus`; `--integration-only` skips step 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  COMPONENT_NAMES,
  endpointsToEnv,
  ensureInfra,
  REPO_ROOT,
  SCHEMA_REGISTRY_MAIN,
  stopInfra,
  type ComponentName,
} from '@chatmesh/infra';
import { ENDPOINT_ENV } from '@chatmesh/testing';

const { values: flags } = parseArgs({
  options: {
    filter: { type: 'string', multiple: true, default: [] },
    'integration-only': { type: 'boolean', default: false },
  },
});
// --continue: one failing package must not hide the results of the others.
const turboFlags = ['--continue', ...(flags.filter ?? []).map((filter) => `--filter=${filter}`)];

const totals = { passed: 0, failed: 0 };
let current: ChildProcess | undefined;
let currentClosed: Promise<void> = Promise.resolve();
let started: ComponentName[] = [];
/** The bring-up in progress: a signal during it waits for it, then stops what it started. */
let bringingUp: Promise<unknown> | undefined;
let stopping: Promise<void> | undefined;
let signalled: NodeJS.Signals | undefined;

function log(line: string): void {
  process.stderr.write(`[test ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Runs a command with inherited stdin, teeing its output while counting node:test's `ℹ pass N` / `ℹ fail N`. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  log(`$ ${command} ${args.join(' ')}`);
  return new Promise((resolvePromise) => {
    // Its own process group, so a signal can reach turbo and every test process under it, not only npx.
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['inherit', 'pipe', 'pipe'], detached: true });
    current = child;
    currentClosed = new Promise((resolveClosed) => child.once('close', () => resolveClosed()));
    const count = (stream: NodeJS.WriteStream) => {
      let pending = '';
      return (chunk: Buffer): void => {
        stream.write(chunk);
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          // eslint-disable-next-line no-control-regex
          const match = /ℹ (pass|fail) (\d+)\s*$/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
          if (match?.[1] === 'pass') totals.passed += Number(match[2]);
          if (match?.[1] === 'fail') totals.failed += Number(match[2]);
        }
      };
    };
    child.stdout?.on('data', count(process.stdout));
    child.stderr?.on('data', count(process.stderr));
    child.once('error', (error) => {
      log(`${command} failed to start: ${error.message}`);
      resolvePromise(127);
    });
    child.once('close', (code, signal) => {
      current = undefined;
      resolvePromise(code ?? (signal === null ? 1 : 128));
    });
  });
}

function stopStarted(): Promise<void> {
  stopping ??= (async () => {
    await bringingUp?.catch(() => {});
    if (started.length === 0) return;
    if (process.env.CHATMESH_TEST_KEEP_INFRA === '1') {
      log(`leaving ${started.join(', ')} running (CHATMESH_TEST_KEEP_INFRA=1); stop with \`npm run infra -- down\``);
      return;
    }
    log(`stopping what this run started: ${started.join(', ')}`);
    await stopInfra({ components: started, log });
  })();
  return stopping;
}

function summary(): void {
  process.stdout.write(`${totals.passed} passed, ${totals.failed} failed\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    signalled = signal;
    log(`${signal}: stopping the tests and the infrastructure`);
    // Ends the tests first, giving their teardown (which may still use the servers) up to 30 s,
    // then the infrastructure.
    const child = current;
    const signalGroup = (name: NodeJS.Signals): void => {
      if (child?.pid === undefined) return;
      try {
        process.kill(-child.pid, name);
      } catch {
        child.kill(name);
      }
    };
    signalGroup(signal);
    const killTimer = setTimeout(() => signalGroup('SIGKILL'), 30_000);
    void currentClosed
      .then(() => clearTimeout(killTimer))
      .then(() => stopStarted())
      .catch((error: unknown) => log(`stopping failed: ${(error as Error).message}`))
      .finally(() => {
        summary();
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
  });
}

/** Components whose endpoint the environment does not already provide (and that can run here). */
function componentsToStart(): ComponentName[] {
  if (process.env.CHATMESH_TEST_PROVIDER === 'testcontainers') return [];
  const given = (component: ComponentName): boolean =>
    ENDPOINT_ENV[component].some((name) => Boolean(process.env[name]?.trim()));
  const wanted = COMPONENT_NAMES.filter((component) => !given(component));
  if (wanted.includes('schema-registry') && given('kafka')) {
    // A native registry would store schemas in the native Kafka, not in the one the tests use;
    // startSchemaRegistry() then runs one per test file against the given Kafka instead.
    log('KAFKA_BROKERS is given without SCHEMA_REGISTRY_URL: the tests will run their own registry against that Kafka');
    return wanted.filter((component) => component !== 'schema-registry');
  }
  if (wanted.includes('schema-registry') && !existsSync(join(REPO_ROOT, SCHEMA_REGISTRY_MAIN))) {
    log(
      `WARNING: ${SCHEMA_REGISTRY_MAIN} does not exist yet: no schema registry; tests that need one will fail saying so`,
    );
    return wanted.filter((component) => component !== 'schema-registry');
  }
  return wanted;
}

/**
 * The chat page's browser test drives Debian's Chromium (Playwright cannot download its own browser
 * here): install it when missing, as the infrastructure installs Redis, so a fresh machine needs nothing.
 */
async function ensureChromium(): Promise<void> {
  const path = process.env.CHATMESH_CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return;
  if (process.getuid?.() !== 0) {
    log(`no Chromium at ${path} and not root: install Debian's chromium (the browser test will fail and say so)`);
    return;
  }
  log("installing Debian's chromium for the browser test (apt-get)");
  if (
    (await run('apt-get', ['update', '-qq'])) !== 0 ||
    (await run('apt-get', ['install', '-y', '-qq', 'chromium'])) !== 0
  ) {
    log('apt-get could not install chromium; the browser test will fail and say so');
  }
}

async function main(): Promise<number> {
  const startedMs = Date.now();
  await ensureChromium();
  if (!flags['integration-only']) {
    if ((await run('npx', ['turbo', 'run', 'check-types', ...turboFlags])) !== 0) {
      log('check-types failed');
      return 1;
    }
    if ((await run('npx', ['turbo', 'run', 'lint', ...turboFlags])) !== 0) {
      log('lint failed');
      return 1;
    }
    // Formatting is checked over the whole repository (docs and schemas too), whatever the filters: it is cheap.
    if ((await run('npx', ['prettier', '--check', '.'])) !== 0) {
      log('formatting failed: run `npm run format` (prettier --write .) and commit the result');
      return 1;
    }
    if ((await run('npx', ['turbo', 'run', 'test', ...turboFlags])) !== 0) {
      log('unit tests failed');
      return 1;
    }
  }

  const components = componentsToStart();
  let infraEnv: Record<string, string> = {};
  if (components.length > 0) {
    log(`bringing up ${components.join(', ')}`);
    const bringUp = ensureInfra({ components, log });
    bringingUp = bringUp.then((result) => (started = result.started));
    const result = await bringUp;
    started = result.started;
    for (const component of components) {
      log(
        `infra: ${component} ${result.health[component]?.version ?? '?'} (${result.started.includes(component) ? 'started' : 'reused'})`,
      );
    }
    log(`infra ready in ${(result.elapsedMs / 1000).toFixed(1)} s`);
    infraEnv = endpointsToEnv(result.endpoints, components);
  }
  for (const [name, value] of Object.entries(infraEnv)) log(`export ${name}=${value}`);

  const code = await run('npx', ['turbo', 'run', 'test:integration', '--concurrency=1', ...turboFlags], {
    ...process.env,
    ...infraEnv,
  });
  log(
    `${code === 0 ? 'all tests passed' : 'integration tests failed'} in ${((Date.now() - startedMs) / 1000).toFixed(0)} s`,
  );
  return code === 0 ? 0 : 1;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  log(`${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}`);
  exitCode = 1;
} finally {
  try {
    await stopStarted();
  } catch (error) {
    log(`stopping the infrastructure failed: ${(error as Error).message}`);
    exitCode = 1;
  }
  summary();
}
process.exit(signalled === undefined ? exitCode : signalled === 'SIGINT' ? 130 : 143);
