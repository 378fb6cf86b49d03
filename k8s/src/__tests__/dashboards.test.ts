/** The dashboards in the chart are the ones the code renders (run `npm run dashboards -w @chatmesh/k8s`). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import { DASHBOARDS, dashboardQueries, renderDashboard } from '../dashboards/index.js';
import { DASHBOARDS_DIR } from '../tools.js';

test('the chart holds exactly the rendered dashboards, up to date', () => {
  assert.deepEqual(
    readdirSync(DASHBOARDS_DIR).sort(),
    Object.keys(DASHBOARDS)
      .map((name) => `${name}.json`)
      .sort(),
  );
  for (const name of Object.keys(DASHBOARDS)) {
    assert.equal(
      readFileSync(`${DASHBOARDS_DIR}/${name}.json`, 'utf8'),
      renderDashboard(name),
      `${name}.json is stale: run npm run dashboards -w @chatmesh/k8s`,
    );
  }
});

test('every panel has a query and uids are distinct', () => {
  const uids = Object.values(DASHBOARDS).map((build) => build().build().uid);
  assert.equal(new Set(uids).size, uids.length);
  for (const name of Object.keys(DASHBOARDS)) {
    const json = JSON.parse(renderDashboard(name)) as {
      panels: Array<{ type: string; title: string; targets?: unknown[] }>;
    };
    for (const panel of json.panels.filter((p) => p.type !== 'row'))
      assert.ok((panel.targets ?? []).length > 0, `${name}: ${panel.title} has no query`);
  }
  assert.ok(dashboardQueries().length > 40);
});
