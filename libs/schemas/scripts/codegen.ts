/**
 * Regenerates `libs/schemas/src/__generated__/` from `schemas/`. Run `npm run codegen -w @chatmesh/schemas`
 * after adding or changing a schema; a unit test fails while the checked-in output is stale.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSources } from '../src/internal/codegen.js';
import { topicTypeRows } from '../src/topics.js';
import { loadSchemaTree } from '../src/schema-files.js';

const outDir = fileURLToPath(new URL('../src/__generated__/', import.meta.url));
const files = generateSources(loadSchemaTree(), topicTypeRows());
mkdirSync(outDir, { recursive: true });
// Files no longer generated must go too, or a removed schema would linger as types.
for (const name of readdirSync(outDir)) if (!files.has(name)) rmSync(join(outDir, name));
for (const [name, content] of files) writeFileSync(join(outDir, name), content);
console.log(`generated ${[...files.keys()].join(', ')} in ${outDir}`);
