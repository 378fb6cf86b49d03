import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIG_DEFAULTS, ConfigError, findUnknownVariables, loadConfig } from '../index.js';

test('CHATMESH_NAMESPACE defaults to empty (no namespace), and blank counts as unset', () => {
  assert.equal(CONFIG_DEFAULTS.namespace, '');
  assert.equal(loadConfig({ env: {} }).namespace, '');
  assert.equal(loadConfig({ env: { CHATMESH_NAMESPACE: '   ' } }).namespace, '');
});

test('CHATMESH_NAMESPACE accepts 1-64 letters, digits, "_" and "-"', () => {
  for (const namespace of ['bench-1', 'ci_run_42', 'A', 'x'.repeat(64)]) {
    assert.equal(loadConfig({ env: { CHATMESH_NAMESPACE: namespace } }).namespace, namespace);
  }
  assert.deepEqual(findUnknownVariables({ CHATMESH_NAMESPACE: 'bench-1' }), []);
});

test('CHATMESH_NAMESPACE refuses dots, spaces and more than 64 characters, naming the variable', () => {
  for (const namespace of ['a.b', 'with space', 'x'.repeat(65), 'ünï']) {
    assert.throws(
      () => loadConfig({ env: { CHATMESH_NAMESPACE: namespace } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.length === 1 &&
        error.problems[0]?.variable === 'CHATMESH_NAMESPACE' &&
        error.problems[0].message.includes('is not a valid namespace: expected 1-64 letters, digits'),
      namespace,
    );
  }
});
