import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRICS, createChatmeshMetrics, createMetricsRegistry, renderMetricsDocs } from '../index.js';

test('every metric name follows chatmesh_<area>_<thing>_<unit>', () => {
  const names = Object.values(METRICS).map((metric) => metric.name);
  assert.equal(new Set(names).size, names.length, 'duplicate metric names');
  for (const metric of Object.values(METRICS)) {
    assert.match(metric.name, /^chatmesh_[a-z]+_[a-z_]+_(total|seconds|records|boolean|bytes)$/, metric.name);
    if (metric.type === 'counter') assert.match(metric.name, /_total$/, metric.name);
    assert.ok(!metric.labelNames.some((label) => /user|chat|device|message/.test(label)), `${metric.name} labels`);
  }
});

test('a registry exposes default metrics and every table metric', async () => {
  const registry = createMetricsRegistry({ defaultLabels: { service: 'ingest' } });
  const metrics = createChatmeshMetrics(registry);
  metrics.busRecordsConsumedTotal.inc({ group: 'g', topic: 'chat.events' }, 3);
  metrics.busHandlerDurationSeconds.observe({ group: 'g', topic: 'chat.events', outcome: 'ok' }, 0.004);
  const text = await registry.metrics();
  assert.match(text, /process_cpu_user_seconds_total/);
  assert.match(text, /chatmesh_bus_records_consumed_total\{group="g",topic="chat.events",service="ingest"\} 3/);
  for (const metric of Object.values(METRICS)) assert.match(text, new RegExp(`# TYPE ${metric.name} ${metric.type}`));
});

test('two registries in one process do not collide', () => {
  createChatmeshMetrics(createMetricsRegistry({ collectDefaultMetrics: false }));
  createChatmeshMetrics(createMetricsRegistry({ collectDefaultMetrics: false }));
});

test('docs/metrics.md lists every metric of the shared table as rendered', () => {
  const docs = readFileSync(new URL('../../../../docs/metrics.md', import.meta.url), 'utf8');
  for (const row of renderMetricsDocs()
    .split('\n')
    .filter((line) => line.startsWith('| `chatmesh_'))) {
    assert.ok(
      docs.includes(row),
      `docs/metrics.md is stale (run \`npm run docs:metrics -w @chatmesh/launcher\`): ${row}`,
    );
  }
});

test('a service table renders under its own heading and creates typed instruments', async () => {
  const { createMetrics, defineMetricTable } = await import('../index.js');
  const table = defineMetricTable({
    recipientsTotal: { name: 'chatmesh_test_recipients_total', type: 'counter', help: 'Recipients.', labelNames: [] },
  });
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  createMetrics(registry, table).recipientsTotal.inc(2);
  assert.match(await registry.metrics(), /chatmesh_test_recipients_total 2/);
  assert.match(renderMetricsDocs({ test: table }), /## Service `test`\n\n\| Name[^]*chatmesh_test_recipients_total/);
});
