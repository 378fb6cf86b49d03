import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDocs } from '@chatmesh/config';
import { CONFIG_SECTIONS } from '../src/index.js';

const target = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
writeFileSync(target, renderConfigDocs(CONFIG_SECTIONS));
console.log(`wrote ${target}`);
