/**
 * `node --import tsx load-tests/gateway/compile-main.ts <out-dir> <entry.ts>...`: compiles entries with
 * {@link compileEntries} (esbuild bundles, no keepNames) and prints the bundles' paths, one a line. The
 * out dir must be inside the repository (the bundles import npm packages from its node_modules). Run a
 * bundle with `node <out-dir>/<entry>.mjs`.
 */
import { resolve } from 'node:path';
import { compileEntries } from './compile.js';

const [outDir, ...entries] = process.argv.slice(2);
if (outDir === undefined || entries.length === 0) {
  process.stderr.write('usage: node --import tsx load-tests/gateway/compile-main.ts <out-dir> <entry.ts>...\n');
  process.exit(2);
}
const bundles = await compileEntries(
  entries.map((entry) => resolve(entry)),
  resolve(outDir),
);
process.stdout.write(`${bundles.join('\n')}\n`);
