/**
 * Runs one package's tests with Node's built-in test runner (through tsx).
 * `unit` runs every `src/**\/*.test.ts` that is not an integration test; `integration` runs `*.integration.test.ts`.
 * Folders to search other than `src` may follow the kind (`run-tests.ts unit src gateway`).
 * Node 20's `--test` does not expand globs itself, so the files are found here.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const kind = process.argv[2] === 'integration' ? 'integration' : 'unit';

function findTests(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith('.test.ts')) {
      const isIntegration = name.endsWith('.integration.test.ts');
      if ((kind === 'integration') === isIntegration) out.push(path);
    }
  }
  return out;
}

const roots = process.argv.length > 3 ? process.argv.slice(3) : ['src'];
const files = roots.flatMap((root) => findTests(root)).sort();
if (files.length === 0) {
  console.log(`no ${kind} tests in ${process.cwd()}`);
  process.exit(0);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
