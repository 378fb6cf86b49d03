import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { createKafkaClusterId } from '../components/kafka.js';
import { InfraError } from '../errors.js';
import { withLockFile } from '../internal/lock.js';
import { readJvmOptionsFile, renderTemplate } from '../internal/template.js';
import { REPO_ROOT } from '../infra-options.js';

const dir = mkdtempSync(join(tmpdir(), 'chatmesh-infra-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the lock runs work exclusively and releases it', async () => {
  const path = join(dir, 'a.lock');
  const order: string[] = [];
  await Promise.all([
    withLockFile(path, 5_000, async () => {
      order.push('first-in');
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
      order.push('first-out');
    }),
    withLockFile(path, 5_000, async () => {
      order.push('second-in');
    }),
  ]);
  assert.deepEqual(order, ['first-in', 'first-out', 'second-in']);
  assert.equal(existsSync(path), false);
});

test('a lock left by a dead process is taken over', async () => {
  const path = join(dir, 'stale.lock');
  const child = spawn('true');
  await new Promise((resolvePromise) => child.once('exit', resolvePromise));
  writeFileSync(path, `${child.pid}\n`);
  assert.equal(await withLockFile(path, 2_000, async () => 'ran'), 'ran');
});

test('a lock held by a live process times out with CM_ERR_INFRA_LOCKED', async () => {
  const path = join(dir, 'held.lock');
  const holder = spawn('sleep', ['30']);
  after(() => holder.kill('SIGKILL'));
  writeFileSync(path, `${holder.pid}\n`);
  await assert.rejects(
    withLockFile(path, 300, async () => 'never'),
    (error: unknown) =>
      error instanceof InfraError && error.code === 'CM_ERR_INFRA_LOCKED' && error.context.holder === holder.pid,
  );
});

test('templates fail loudly on an unknown placeholder', () => {
  const path = join(dir, 't.conf');
  writeFileSync(path, 'port=${PORT}\nhost=${HOST}\n');
  assert.equal(renderTemplate(path, { PORT: 1, HOST: 'h' }), 'port=1\nhost=h\n');
  assert.throws(() => renderTemplate(path, { PORT: 1 }), { code: 'CM_ERR_INFRA_OPTIONS_INVALID', message: /HOST/ });
});

test('the repository templates render with the values the drivers pass', () => {
  const kafka = renderTemplate(join(REPO_ROOT, 'deploy/infra/conf/kafka-server.properties'), {
    HOST: '127.0.0.1',
    BROKER_PORT: 1,
    CONTROLLER_PORT: 2,
    DATA_DIR: '/d',
  });
  assert.match(kafka, /^auto\.create\.topics\.enable=false$/m);
  assert.match(kafka, /^group\.initial\.rebalance\.delay\.ms=0$/m);
  assert.match(kafka, /^controller\.quorum\.voters=1@127\.0\.0\.1:2$/m);
  const yaml = renderTemplate(join(REPO_ROOT, 'deploy/infra/conf/cassandra.yaml'), {
    HOST: '127.0.0.1',
    STORAGE_PORT: 3,
    NATIVE_PORT: 4,
  });
  assert.match(yaml, /^native_transport_port: 4$/m);
});

test('JVM options files split into arguments and drop comments', () => {
  const args = readJvmOptionsFile(join(REPO_ROOT, 'deploy/infra/conf/jvm17-server.options'));
  assert.ok(args.includes('--add-opens'));
  assert.ok(args.includes('java.base/sun.nio.ch=ALL-UNNAMED'));
  assert.ok(args.includes('-Djdk.attach.allowAttachSelf=true'));
  assert.ok(args.every((arg) => !arg.startsWith('#') && arg.length > 0));
});

test('Kafka cluster ids look like StorageTool random-uuid output', () => {
  for (let i = 0; i < 200; i++) {
    const id = createKafkaClusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
});
