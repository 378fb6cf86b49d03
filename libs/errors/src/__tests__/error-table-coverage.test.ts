import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ERROR_CODES, isErrorCode } from '../index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * The size of the table. Adding a code changes it on purpose: update this number in the same change, together
 * with the area file and `npm run docs:errors -w @chatmesh/errors`. Removing one is not allowed (a retired code
 * stays, marked retired in its `fix`).
 */
const TABLE_SIZE = 148;

/** Folders never read: dependencies, build output, generated docs of the table itself. */
const SKIPPED = new Set(['node_modules', 'dist', '.git', '.turbo', 'coverage']);

/** Files that cite codes: documentation, schemas (their docs) and non-test sources. */
function citingFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // Tests make codes up on purpose (fake codes for the dead-letter header, the sampled log).
      if (entry.name !== '__tests__') citingFiles(path, out);
    } else if (/\.(md|avsc)$/.test(entry.name) || (/\.ts$/.test(entry.name) && !entry.name.endsWith('.test.ts'))) {
      out.push(path);
    }
  }
  return out;
}

/** Every `CM_ERR_*` a file cites, except families written as a prefix (`CM_ERR_AUTH_*`). */
function citedCodes(text: string): string[] {
  return [...text.matchAll(/CM_ERR_[A-Z0-9_]+/g)].map((m) => m[0]).filter((code) => !code.endsWith('_'));
}

test(`the table holds ${TABLE_SIZE} codes (adding one updates this count, its docs and its area file)`, () => {
  assert.equal(Object.keys(ERROR_CODES).length, TABLE_SIZE);
});

test('every code the docs, schemas or sources cite is in the table', () => {
  const missing: string[] = [];
  for (const file of citingFiles(ROOT)) {
    for (const code of citedCodes(readFileSync(file, 'utf8'))) {
      if (!isErrorCode(code)) missing.push(`${code} in ${file.slice(ROOT.length)}`);
    }
  }
  assert.deepEqual([...new Set(missing)], [], 'cite codes of the table, or add the code (with its docs)');
});

test('every code of the table is documented in docs/errors.md with its meaning and fix', () => {
  const docs = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    const row = docs.split('\n').find((line) => line.startsWith(`| \`${code}\``));
    assert.ok(row !== undefined, `${code} has no row in docs/errors.md`);
    assert.ok(row.includes(entry.fix.slice(0, 30)), `${code}: its row in docs/errors.md does not carry its fix`);
  }
});

test('isErrorCode accepts the table and nothing else', () => {
  assert.equal(isErrorCode('CM_ERR_COMMON_SHUTTING_DOWN'), true);
  assert.equal(isErrorCode('CM_ERR_GATEWAY_DRAINING'), false);
  assert.equal(isErrorCode('toString'), false);
});
