import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { InfraError } from '../errors.js';
import {
  isProcessRunning,
  isRecordAlive,
  readFileHead,
  readPidFile,
  readRssBytes,
  removePidFile,
  spawnDaemon,
  stopProcess,
  summarizeLog,
  tailFile,
  writePidFile,
} from '../internal/process.js';

const dir = mkdtempSync(join(tmpdir(), 'chatmesh-infra-process-'));
const spawnedPids: number[] = [];
after(() => {
  for (const pid of spawnedPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Daemons are unref'd (the CLI must be able to exit), so a test keeps the event loop alive while it awaits one. */
async function keepingAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1_000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

async function waitForLog(name: string, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!readFileHead(join(dir, `${name}.log`)).includes(text)) {
    assert.ok(Date.now() < deadline, `log ${name} never showed ${text}`);
    await keepingAlive(new Promise((resolvePromise) => setTimeout(resolvePromise, 20)));
  }
}

function spawnShell(script: string, name: string) {
  const spawned = spawnDaemon({
    command: 'sh',
    args: ['-c', script],
    cwd: dir,
    env: process.env,
    logFile: join(dir, `${name}.log`),
  });
  spawnedPids.push(spawned.record.pid);
  return spawned;
}

test('a daemon runs detached, logs to its file, and SIGTERM stops it', async () => {
  const { record } = spawnShell('echo hello-from-daemon; exec sleep 60', 'term');
  assert.ok(record.pid > 0);
  await waitForLog('term', 'hello-from-daemon');
  assert.ok(isRecordAlive(record));
  assert.ok((readRssBytes(record.pid) ?? 0) > 0);
  assert.equal(await stopProcess(record.pid, { graceMs: 5_000 }), 'exited');
  assert.equal(isProcessRunning(record.pid), false);
  assert.match(readFileSync(join(dir, 'term.log'), 'utf8'), /hello-from-daemon/);
});

test('a process that ignores SIGTERM is killed after the grace period', async () => {
  // SIG_IGN is inherited across exec, so the sleeps ignore TERM too; only SIGKILL ends the group.
  const { record } = spawnShell('trap "" TERM; echo trapped; while true; do sleep 0.1; done', 'stubborn');
  // A SIGTERM that lands before the shell ran `trap` would simply end it.
  await waitForLog('stubborn', 'trapped');
  const startedMs = Date.now();
  assert.equal(await stopProcess(record.pid, { graceMs: 300 }), 'killed');
  assert.ok(Date.now() - startedMs >= 300);
  assert.equal(isProcessRunning(record.pid), false);
});

test('stopping a process that is already gone reports gone', async () => {
  const { record, exited } = spawnShell('exit 3', 'quick');
  assert.equal(await keepingAlive(exited), 3);
  assert.equal(await stopProcess(record.pid, { graceMs: 100 }), 'gone');
});

test('a pid file whose start time does not match is not our process (pid reuse)', () => {
  const record = { pid: process.pid, startTicks: 1, startedAtMs: 0, command: [] };
  assert.equal(isProcessRunning(process.pid), true);
  assert.equal(isRecordAlive(record), false);
});

test('pid files round-trip; garbage reads as undefined', () => {
  const path = join(dir, 'x.pid');
  writePidFile(path, { pid: 42, startTicks: 7, startedAtMs: 1, command: ['a'] });
  assert.deepEqual(readPidFile(path), { pid: 42, startTicks: 7, startedAtMs: 1, command: ['a'] });
  writeFileSync(path, 'not json');
  assert.equal(readPidFile(path), undefined);
  removePidFile(path);
  assert.equal(readPidFile(path), undefined);
});

test('a new run keeps the previous log as .1, and the tail and head readers see the right run', async () => {
  const first = spawnShell('echo run-one', 'rotate');
  await keepingAlive(first.exited);
  const second = spawnShell('echo run-two', 'rotate');
  await keepingAlive(second.exited);
  assert.match(readFileHead(join(dir, 'rotate.log')), /run-two/);
  assert.doesNotMatch(readFileHead(join(dir, 'rotate.log')), /run-one/);
  assert.match(readFileSync(join(dir, 'rotate.log.1'), 'utf8'), /run-one/);
  assert.equal(tailFile(join(dir, 'rotate.log'), 1), 'run-two');
  assert.equal(tailFile(join(dir, 'missing.log')), '(no log)');
});

test('InfraError carries the component and log file', () => {
  const error = new InfraError('CM_ERR_INFRA_START_FAILED', 'boom', { component: 'kafka', logFile: '/x.log' });
  assert.equal(error.name, 'InfraError');
  assert.equal(error.component, 'kafka');
  assert.equal(error.context.logFile, '/x.log');
  assert.equal(error.retriable, false);
});

test('a log summary leads with the first errors, not only the shutdown noise after them', () => {
  const path = join(dir, 'summary.log');
  const noise = Array.from({ length: 60 }, (_, index) => `INFO shutting down part ${index}`);
  writeFileSync(
    path,
    ['INFO starting', 'ERROR Socket server failed to bind to 127.0.0.1:1: Address already in use', ...noise].join('\n'),
  );
  const summary = summarizeLog(path);
  assert.match(summary, /^first errors:\nERROR Socket server failed to bind/);
  assert.match(summary, /shutting down part 59$/);
  assert.doesNotMatch(summary, /part 10\n/);
  writeFileSync(path, 'INFO all fine\n');
  assert.equal(summarizeLog(path), 'INFO all fine');
});
