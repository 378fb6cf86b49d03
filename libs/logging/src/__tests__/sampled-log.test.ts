import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, createSampledLog } from '../index.js';

test('logs the first N per key per interval, then counts; the next interval reports what was left out', () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  let nowMs = 0;
  const sampled = createSampledLog(logger, { perInterval: 2, intervalMs: 1_000, now: () => nowMs });
  const logged = [1, 2, 3, 4].map((i) => sampled.log('warn', 'CM_ERR_A', { i }, 'refused'));
  assert.deepEqual(logged, [true, true, false, false]);
  assert.equal(sampled.log('warn', 'CM_ERR_B', {}, 'other code'), true, 'keys are counted apart');
  nowMs = 1_000;
  assert.equal(sampled.log('warn', 'CM_ERR_A', { i: 5 }, 'refused'), true);
  assert.deepEqual(
    lines.map((line) => [line['sampleKey'], line['i'], line['suppressedBefore'], line['level']]),
    [
      ['CM_ERR_A', 1, undefined, 'warn'],
      ['CM_ERR_A', 2, undefined, 'warn'],
      ['CM_ERR_B', undefined, undefined, 'warn'],
      ['CM_ERR_A', 5, 2, 'warn'],
    ],
  );
});
