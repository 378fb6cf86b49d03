import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderMetricsDocs } from '@chatmesh/metrics';
import { METRIC_TABLES } from '../src/index.js';

const target = fileURLToPath(new URL('../../../docs/metrics.md', import.meta.url));
writeFileSync(target, renderMetricsDocs(METRIC_TABLES));
console.log(`wrote ${target}`);
