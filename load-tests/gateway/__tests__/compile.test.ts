import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { SCHEMAS_DIR } from '@chatmesh/schemas';
import { compileEntries } from '../compile.js';

const HERE = dirname(fileURLToPath(import.meta.url));

test('a compiled entry runs on plain node, without keepNames, with import.meta.url of its sources', async () => {
  const entry = join(HERE, 'fixtures/compile-entry.ts');
  const outDir = join(HERE, '../dist', `compile-test-${process.pid}`);
  try {
    const [bundle] = await compileEntries([entry], outDir);
    assert.equal(bundle, join(outDir, 'compile-entry.mjs'));
    const code = await readFile(bundle!, 'utf8');
    assert.doesNotMatch(code, /__name\(/, 'no keepNames wrappers');
    assert.doesNotMatch(code, /from "@chatmesh\//, 'workspace packages are bundled');
    const { stdout } = await promisify(execFile)(process.execPath, [bundle!], { cwd: HERE });
    const printed = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(printed['schemasDir'], SCHEMAS_DIR, 'paths relative to a source file still resolve');
    assert.equal(printed['ownUrl'], pathToFileURL(entry).href);
    assert.equal(printed['name'], 'namedFunction');
    assert.equal(printed['one'], 1);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
