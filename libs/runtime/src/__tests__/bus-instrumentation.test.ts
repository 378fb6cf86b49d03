import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { createBusInstrumentation } from '../index.js';

test('dead letters and offset resets are counted and get a sampled log line', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  const instrumentation = createBusInstrumentation(createChatmeshMetrics(registry), logger);
  for (let i = 0; i < 20; i++) {
    instrumentation.onHandled?.({
      groupId: 'g',
      topic: 't',
      partition: 0,
      durationMs: 1,
      outcome: 'dead-lettered',
      errorCode: 'CM_ERR_X',
    });
  }
  instrumentation.onOffsetReset?.({ groupId: 'g', topic: 't', partition: 0, from: 3, to: 10 });
  const text = await registry.metrics();
  assert.match(text, /chatmesh_bus_records_failed_total\{group="g",topic="t",error_code="CM_ERR_X"\} 20/);
  assert.match(text, /chatmesh_bus_offset_resets_total\{group="g",topic="t"\} 1/);
  const deadLetters = lines.filter((line) => line['errorCode'] === 'CM_ERR_X');
  assert.equal(deadLetters.length, 5, 'the first 5 of a minute are logged, not all 20');
  assert.equal(deadLetters[0]!['level'], 'warn');
  assert.ok(
    lines.some((line) => line['skipped'] === 7),
    'the reset is logged with what it skipped',
  );
});
