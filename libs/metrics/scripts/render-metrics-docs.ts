import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderMetricsDocs } from '../src/index.js';

const target = fileURLToPath(new URL('../../../docs/metrics.md', import.meta.url));
writeFileSync(target, renderMetricsDocs());
console.log(`wrote ${target}`);
