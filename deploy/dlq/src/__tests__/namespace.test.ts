import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@chatmesh/config';
import { loadDlqConfig } from '../index.js';

const endpoints = { KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081' };

test('the tool reads CHATMESH_NAMESPACE like the services, and none when it is unset', () => {
  assert.equal(loadDlqConfig(endpoints).namespace, undefined);
  assert.equal(loadDlqConfig({ ...endpoints, CHATMESH_NAMESPACE: 'bench-1' }).namespace, 'bench-1');
  assert.throws(
    () => loadDlqConfig({ ...endpoints, CHATMESH_NAMESPACE: 'bench.1' }),
    (error: unknown) =>
      error instanceof ConfigError && error.problems.map((problem) => problem.variable).join() === 'CHATMESH_NAMESPACE',
  );
});
