/**
 * The pinned tools the chart and monitoring tests run, installed on first use by @chatmesh/infra into
 * `~/.cache/chatmesh/tools/` (go install / go build / apt-get), so `npm test` needs nothing by hand.
 */
import { fileURLToPath } from 'node:url';

import { ensureDebianProgram, ensureGoProgram, ensureGoTool, type ToolOptions } from '@chatmesh/infra';

/** Helm 4.3.2: `go install helm.sh/helm/v4/cmd/helm@v4.3.2` builds with the Go here (~5 min on 2 cores). */
export const HELM = { name: 'helm', packagePath: 'helm.sh/helm/v4/cmd/helm', version: 'v4.3.2' } as const;

export const K8S_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CHART_DIR = `${K8S_ROOT}chatmesh`;
export const PROFILES_DIR = `${K8S_ROOT}profiles`;
export const PROFILES = ['laptop', 'small-production', 'large-production'] as const;
export const RULES_FILE = `${CHART_DIR}/files/prometheus/chatmesh.rules.yaml`;
export const RULE_TESTS_DIR = `${K8S_ROOT}prometheus-tests`;
export const DASHBOARDS_DIR = `${CHART_DIR}/files/dashboards`;

const log: ToolOptions['log'] = (line) => process.stdout.write(`# ${line}\n`);

export function ensureHelm(): Promise<string> {
  return ensureGoTool(HELM, { log });
}

/** The strict Kubernetes API type check (k8s/validate, k8s.io/api v0.37.2). */
export function ensureValidator(): Promise<string> {
  return ensureGoProgram(`${K8S_ROOT}validate`, 'chatmesh-k8s-validate', { log });
}

/** Debian bookworm's Prometheus 2.42 (`promtool` and `prometheus`). */
export async function ensurePrometheus(): Promise<{ promtool: string; prometheus: string }> {
  const promtool = await ensureDebianProgram('promtool', 'prometheus', { log });
  const prometheus = await ensureDebianProgram('prometheus', 'prometheus', { log });
  return { promtool, prometheus };
}
