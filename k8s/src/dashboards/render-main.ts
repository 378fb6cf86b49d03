/** `npm run dashboards -w @chatmesh/k8s`: writes each dashboard's JSON into the chart. */
import { writeFileSync } from 'node:fs';

import { DASHBOARDS_DIR } from '../tools.js';
import { DASHBOARDS, renderDashboard } from './index.js';

for (const name of Object.keys(DASHBOARDS)) {
  const path = `${DASHBOARDS_DIR}/${name}.json`;
  writeFileSync(path, renderDashboard(name));
  process.stdout.write(`${path}\n`);
}
