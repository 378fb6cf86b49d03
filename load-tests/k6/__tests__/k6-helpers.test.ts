import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { directChatId } from '@chatmesh/protocol';
import { ChatmeshError } from '@chatmesh/errors';
import { findK6 } from '../k6-binary.js';
import { figuresOf, formatTrend } from '../k6-figures.js';
import { parseK6Options, scenarioSeconds } from '../k6-options.js';
import { pairUsers } from '../prepare.js';

test('findK6 takes --k6, then K6_BIN, then PATH, then $GOPATH/bin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k6-find-'));
  try {
    const fake = join(dir, 'bin', 'k6');
    mkdirSync(join(dir, 'bin'));
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o755);
    assert.equal(findK6(fake, {}, '/nonexistent'), fake);
    assert.equal(findK6(undefined, { K6_BIN: fake, PATH: '' }, '/nonexistent'), fake);
    assert.equal(findK6(undefined, { PATH: join(dir, 'bin') }, '/nonexistent'), fake);
    assert.equal(findK6(undefined, { PATH: '', GOPATH: dir }, '/nonexistent'), fake);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('findK6 without k6 throws a coded error that says how to install it', () => {
  assert.throws(
    () => findK6(undefined, { PATH: '' }, '/nonexistent'),
    (error: unknown) =>
      error instanceof ChatmeshError &&
      error.code === 'CM_ERR_BENCH_SETUP_FAILED' &&
      /go install go\.k6\.io\/k6@v1\.8\.1/.test(error.message),
  );
  assert.throws(() => findK6('/nonexistent/k6', {}, '/nonexistent'), /k6 not found/);
});

test('figuresOf reads counts, trends and thresholds from a k6 summary, and counts acked but undelivered as lost', () => {
  const figures = figuresOf({
    metrics: {
      chat_sent: { values: { count: 100 } },
      chat_acked: { values: { count: 98 } },
      chat_delivered: { values: { count: 97 } },
      chat_errors: { values: { rate: 0.02 }, thresholds: { 'rate<0.01': { ok: false } } },
      chat_delivery_ms: {
        values: { count: 97, med: 1.234, 'p(95)': 5, 'p(99)': 9, max: 12 },
        thresholds: { 'p(95)<250': { ok: true } },
      },
    },
  });
  assert.equal(figures.lost, 1);
  assert.equal(figures.rejected, 0);
  assert.deepEqual(figures.delivery, { count: 97, p50: 1.2, p95: 5, p99: 9, max: 12 });
  assert.equal(figures.reconnectSyncDone, null);
  assert.equal(figures.thresholdsOk, false);
  assert.equal(figures.thresholds.length, 2);
  assert.equal(formatTrend(figures.delivery), '1.2 / 5 / 9 / 12 ms (n 97)');
  assert.equal(formatTrend(null), '—');
});

test('parseK6Options requires a target, applies its defaults and bounds the run', () => {
  assert.throws(() => parseK6Options([], '/r'), /--target/);
  assert.throws(() => parseK6Options(['--target', 'embedded', '--scenario', 'soak'], '/r'), /--scenario/);
  const stack = parseK6Options(['--target', 'stack'], '/r');
  assert.ok(stack !== 'help');
  assert.deepEqual(stack.scenarios, ['steady', 'ramp', 'reconnect']);
  assert.equal(stack.pairs, 100);
  const embedded = parseK6Options(['--target', 'embedded', '--scenario', 'ramp', '--seconds', '20'], '/r');
  assert.ok(embedded !== 'help');
  assert.equal(scenarioSeconds(embedded, 'ramp'), 30 + 20 + 30);
  assert.equal(scenarioSeconds(embedded, 'steady'), 10 + 20 + 10 + 30);
  assert.equal(parseK6Options(['--help'], '/r'), 'help');
});

test('pairUsers puts users 2p and 2p+1 in one direct chat', () => {
  const users = pairUsers('x', 2);
  assert.equal(users.length, 4);
  assert.equal(users[1]!.peerId, 'xu0');
  assert.equal(users[2]!.chatId, directChatId('xu2', 'xu3'));
  assert.equal(users[2]!.chatId, users[3]!.chatId);
});
