import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, defineConfigSection, defineVariable, loadConfig, parsers } from '@chatmesh/config';
import { DEFAULT_LOG_RETENTION } from '@chatmesh/store';
import { collectConfigSections, retentionOf } from '../index.js';

/** The receipts service's FAILED deadline as its section declares it (runtime does not depend on receipts). */
const RECEIPTS_SECTION_FOR_TEST = defineConfigSection({
  description: 'receipts (test copy)',
  variables: {
    failAfterMs: defineVariable({
      env: 'CHATMESH_RECEIPTS_FAIL_AFTER_MS',
      description: 'FAILED deadline',
      schema: parsers.integer(100, 365 * 86_400_000),
      noun: 'duration',
      expected: 'milliseconds',
      default: 30 * 86_400_000,
    }),
  },
});

const load = (env: Record<string, string>, withReceipts = false) =>
  loadConfig({ env, sections: collectConfigSections([], withReceipts ? { receipts: RECEIPTS_SECTION_FOR_TEST } : {}) });

test('every process reads the retention section; nothing set is the default policy', () => {
  assert.deepEqual(retentionOf(load({})), DEFAULT_LOG_RETENTION);
  assert.equal(DEFAULT_LOG_RETENTION.chatLogSeconds, 0, 'history is kept forever by default');
});

test('the values come from CHATMESH_RETENTION_*', () => {
  assert.deepEqual(
    retentionOf(
      load({
        CHATMESH_RETENTION_CHAT_LOG_SECONDS: '31536000',
        CHATMESH_RETENTION_CHAT_KEYS_SECONDS: '864000',
        CHATMESH_RETENTION_INBOX_SECONDS: '5184000',
      }),
    ),
    { chatLogSeconds: 31_536_000, chatKeySeconds: 864_000, inboxSeconds: 5_184_000 },
  );
});

test('idempotency keys kept less than the SDK outbox horizon plus a day are refused at load', () => {
  assert.throws(
    () => load({ CHATMESH_RETENTION_CHAT_KEYS_SECONDS: String(7 * 86_400) }),
    (error: unknown) =>
      error instanceof ConfigError && error.problems.some((p) => p.variable === 'CHATMESH_RETENTION_CHAT_KEYS_SECONDS'),
  );
});

test('an inbox kept longer than a finite chat log is refused with the rule named', () => {
  const config = load({ CHATMESH_RETENTION_CHAT_LOG_SECONDS: '3600', CHATMESH_RETENTION_INBOX_SECONDS: '7200' });
  assert.throws(
    () => retentionOf(config),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.code === 'CM_ERR_CONFIG_INVALID' &&
      error.problems.length === 1 &&
      error.problems[0]!.variable === 'CHATMESH_RETENTION_INBOX_SECONDS',
  );
});

test("a chat log dropped before receipts' FAILED deadline is refused where the receipts section is loaded", () => {
  const env = { CHATMESH_RETENTION_CHAT_LOG_SECONDS: '86400', CHATMESH_RETENTION_INBOX_SECONDS: '3600' };
  assert.doesNotThrow(() => retentionOf(load(env)));
  assert.throws(
    () => retentionOf(load({ ...env, CHATMESH_RECEIPTS_FAIL_AFTER_MS: String(2 * 86_400_000) }, true)),
    (error: unknown) =>
      error instanceof ConfigError && error.problems.some((p) => p.variable === 'CHATMESH_RETENTION_CHAT_LOG_SECONDS'),
  );
  assert.doesNotThrow(() => retentionOf(load({ ...env, CHATMESH_RECEIPTS_FAIL_AFTER_MS: '3600000' }, true)));
});
