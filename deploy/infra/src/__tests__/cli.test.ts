import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { REPO_ROOT } from '../index.js';

const stateDir = mkdtempSync(join(tmpdir(), 'chatmesh-infra-cli-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  // Ports and dirs the developer or CI set for their own servers must not leak into these expectations.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CHATMESH_INFRA_')),
  );
  const childEnv: Record<string, string | undefined> = { ...inherited, CHATMESH_INFRA_DIR: stateDir, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  return spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'deploy/infra/src/cli.ts'), ...args], {
    cwd: REPO_ROOT,
    env: childEnv,
    encoding: 'utf8',
  });
}

test('env prints one KEY=value line per endpoint, honouring port overrides and --only', () => {
  const result = cli(['env'], { CHATMESH_INFRA_KAFKA_PORT: '29999' });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), [
    'KAFKA_BROKERS=127.0.0.1:29999',
    'CASSANDRA_CONTACT_POINTS=127.0.0.1:19042',
    'CASSANDRA_LOCAL_DC=datacenter1',
    'REDIS_URL=redis://127.0.0.1:16379',
    'SCHEMA_REGISTRY_URL=http://127.0.0.1:18081',
    'S3_ENDPOINT=http://127.0.0.1:17070',
    'S3_ACCESS_KEY_ID=chatmesh',
    'S3_SECRET_ACCESS_KEY=chatmesh-local-s3-secret',
    'S3_REGION=us-east-1',
    'S3_BUCKET=chatmesh-attachments',
  ]);
  const only = cli(['env', '--only', 'redis', '--export']);
  assert.equal(only.stdout.trim(), 'export REDIS_URL=redis://127.0.0.1:16379');
});

test('status of a state dir where nothing runs says stopped and exits 1', () => {
  // A port nobody listens on, so a server on the default port cannot make it look `foreign`.
  const result = cli(['status', '--only', 'redis', '--json'], { CHATMESH_INFRA_REDIS_PORT: '1' });
  assert.equal(result.status, 1, result.stderr);
  const statuses = JSON.parse(result.stdout) as { component: string; state: string }[];
  assert.deepEqual(
    statuses.map((status) => [status.component, status.state]),
    [['redis', 'stopped']],
  );
});

test('down with nothing running succeeds', () => {
  const result = cli(['down', '--only', 'redis']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /nothing was running/);
});

test('an unknown component or command fails with its code and the usage', () => {
  const badComponent = cli(['up', '--only', 'zookeeper']);
  assert.equal(badComponent.status, 1);
  assert.match(badComponent.stderr, /CM_ERR_INFRA_OPTIONS_INVALID.*zookeeper/);
  const badCommand = cli(['restart']);
  assert.equal(badCommand.status, 2);
  assert.match(badCommand.stderr, /usage: npm run infra/);
});
