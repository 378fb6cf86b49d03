import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { allVariables, renderConfigDocs } from '@chatmesh/config';
import { renderMetricsDocs } from '@chatmesh/metrics';
import { CONFIG_SECTIONS, METRIC_TABLES, SERVICE_MODULES, selectModules } from '../index.js';

test('docs/configuration.md is generated from the variable tables and lists every variable', () => {
  const docs = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(
    docs,
    renderConfigDocs(CONFIG_SECTIONS),
    'docs/configuration.md is stale: run `npm run docs:config -w @chatmesh/launcher`',
  );
  const documented = [...docs.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1]);
  assert.deepEqual(
    documented.sort(),
    allVariables(CONFIG_SECTIONS)
      .map((variable) => variable.env)
      .sort(),
  );
});

test('the service table has the six services, in start order', () => {
  assert.deepEqual(Object.keys(SERVICE_MODULES).sort(), [
    'delivery-gateway',
    'fan-out',
    'ingest',
    'presence',
    'push',
    'receipts',
  ]);
  for (const [name, module] of Object.entries(SERVICE_MODULES)) assert.equal(module.name, name);
  assert.deepEqual(
    selectModules(['delivery-gateway', 'ingest']).map((module) => module.name),
    ['ingest', 'delivery-gateway'],
  );
});

test('docs/metrics.md is generated from the shared table and every service table', () => {
  const docs = readFileSync(new URL('../../../../docs/metrics.md', import.meta.url), 'utf8');
  assert.equal(
    docs,
    renderMetricsDocs(METRIC_TABLES),
    'docs/metrics.md is stale: run `npm run docs:metrics -w @chatmesh/launcher`',
  );
  const names = Object.values(METRIC_TABLES).flatMap((table) => Object.values(table).map((metric) => metric.name));
  assert.equal(new Set(names).size, names.length, 'two services declare the same metric name');
});
