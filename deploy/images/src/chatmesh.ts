/**
 * The image's entry point: `node chatmesh.mjs <entry>` (the Dockerfile's ENTRYPOINT, the chart's `args`)
 * loads the bundle of that entry from its own directory. One image serves every service, the schema
 * registry and the migrations job, so a release is one digest and every pod runs the same build.
 * An unknown or missing name exits 2 with CM_ERR_CONFIG_INVALID and the list of names.
 */
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IMAGE_ENTRY_NAMES, isImageEntry } from './entries.js';

const name = process.argv[2] ?? '';
if (!isImageEntry(name)) {
  process.stderr.write(
    `CM_ERR_CONFIG_INVALID: ${name === '' ? 'no entry named' : `unknown entry ${JSON.stringify(name)}`}; ` +
      `run the image with one of: ${IMAGE_ENTRY_NAMES.join(', ')}\n`,
  );
  process.exit(2);
}
// The bundle sits beside this file. process.argv[1] rather than import.meta.url, which the compiler
// rewrites to the source file's URL so that the services find their schema and migration files.
const bundleDir = dirname(process.argv[1] ?? '.');
// Drop the entry name so the entry sees the argv it would have seen when started directly.
process.argv.splice(2, 1);
await import(pathToFileURL(join(bundleDir, `${name}.mjs`)).href);
