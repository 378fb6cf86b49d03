/**
 * The Grafana dashboards as code. `npm run dashboards -w @chatmesh/k8s` writes them as JSON into the
 * chart (k8s/chatmesh/files/dashboards/), where the chart ships them as ConfigMaps for Grafana's
 * sidecar; a test fails when the JSON is stale, and another asks a real Prometheus every query.
 */
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';

import { gatewaysDashboard } from './gateways.js';
import { infrastructureDashboard } from './infrastructure.js';
import { messagePathDashboard } from './message-path.js';
import { overviewDashboard } from './overview.js';

export const DASHBOARDS: Record<string, () => DashboardBuilder> = {
  overview: overviewDashboard,
  gateways: gatewaysDashboard,
  'message-path': messagePathDashboard,
  infrastructure: infrastructureDashboard,
};

/** The JSON file of a dashboard, as written into the chart. */
export function renderDashboard(name: string): string {
  const build = DASHBOARDS[name];
  if (build === undefined) throw new Error(`no dashboard ${name}`);
  return `${JSON.stringify(build().build(), null, 2)}\n`;
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

/** Every PromQL expression of every panel. */
export function dashboardQueries(): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const name of Object.keys(DASHBOARDS)) {
    const json = JSON.parse(renderDashboard(name)) as {
      panels?: Array<{ title?: string; targets?: Array<{ expr?: string }>; panels?: unknown[] }>;
    };
    for (const panel of json.panels ?? []) {
      for (const target of panel.targets ?? []) {
        if (target.expr !== undefined) queries.push({ dashboard: name, panel: panel.title ?? '?', expr: target.expr });
      }
    }
  }
  return queries;
}
