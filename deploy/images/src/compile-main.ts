/**
 * `npm run compile -w @chatmesh/images`: builds the image's bundles into deploy/images/dist/ (the
 * Dockerfile's build stage runs this) and prints their paths.
 */
import { fileURLToPath } from 'node:url';
import { compileImageEntries } from './compile.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bundles = await compileImageEntries(repoRoot);
process.stdout.write(`${Object.values(bundles).join('\n')}\n`);
