import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchError, parseMessagePathOptions } from '../index.js';

const defaults = { resultsDir: '/results' };

test('parseMessagePathOptions applies the defaults and derives the warm-up from --messages', () => {
  const options = parseMessagePathOptions(
    ['--mode', 'stack', '--scenario', 'group1024', '--messages', '500'],
    defaults,
  );
  assert.ok(options);
  assert.equal(options.mode, 'stack');
  assert.equal(options.scenario, 'group1024');
  assert.equal(options.messages, 500);
  assert.equal(options.warmupMessages, 50);
  assert.equal(options.concurrency, 64);
  assert.equal(options.online, 'none');
  assert.equal(options.resultsDir, '/results');
  assert.equal(options.cpuProfileDir, undefined);
});

test('parseMessagePathOptions returns null for --help', () => {
  assert.equal(parseMessagePathOptions(['--help'], defaults), null);
});

test('parseMessagePathOptions names the bad option with CM_ERR_BENCH_INVALID_OPTIONS', () => {
  const cases: Array<[string[], string]> = [
    [['--scenario', 'direct'], 'mode'],
    [['--mode', 'cloud', '--scenario', 'direct'], 'mode'],
    [['--mode', 'embedded', '--scenario', 'direct', '--messages', '0'], 'messages'],
    [['--mode', 'embedded', '--scenario', 'direct', '--messages', '10', '--warmup', '10'], 'warmup'],
    [['--mode', 'embedded', '--scenario', 'direct', '--concurrency', 'many'], 'concurrency'],
    [['--mode', 'embedded', '--scenario', 'direct', '--bogus'], 'argv'],
  ];
  for (const [argv, option] of cases) {
    assert.throws(
      () => parseMessagePathOptions(argv, defaults),
      (error: unknown) =>
        error instanceof BenchError &&
        error.code === 'CM_ERR_BENCH_INVALID_OPTIONS' &&
        error.context['option'] === option,
      argv.join(' '),
    );
  }
});
