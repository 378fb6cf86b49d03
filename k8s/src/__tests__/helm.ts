/** Runs helm against the chart and parses what it renders. */
import { spawnSync } from 'node:child_process';

import { parseAllDocuments } from 'yaml';

import { CHART_DIR, PROFILES_DIR } from '../tools.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown> & { template?: { spec: PodSpec } };
  data?: Record<string, string>;
}

export interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  envFrom?: unknown[];
  ports?: Array<{ name: string; containerPort: number }>;
  securityContext?: Record<string, unknown>;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  startupProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
}

export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { sysctls?: Array<{ name: string; value: string }>; runAsNonRoot?: boolean };
  topologySpreadConstraints?: unknown[];
}

export interface Rendered {
  ok: boolean;
  /** helm's stderr (the reason when not ok). */
  stderr: string;
  text: string;
  objects: K8sObject[];
}

/** `helm template` with a profile and extra `--set` values. */
export function template(helm: string, profile: string | undefined, sets: string[] = []): Rendered {
  const args = ['template', 'chatmesh', CHART_DIR, '--namespace', 'chatmesh'];
  if (profile !== undefined) args.push('-f', `${PROFILES_DIR}/${profile}.yaml`);
  for (const set of sets) args.push('--set', set);
  const result = spawnSync(helm, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ok = result.status === 0;
  const objects = ok
    ? parseAllDocuments(result.stdout)
        .map((doc) => doc.toJS() as K8sObject | null)
        .filter((object): object is K8sObject => object !== null)
    : [];
  return { ok, stderr: result.stderr, text: result.stdout, objects };
}

export function find(rendered: Rendered, kind: string, nameSuffix: string): K8sObject | undefined {
  return rendered.objects.find((object) => object.kind === kind && object.metadata.name.endsWith(nameSuffix));
}

export function podSpec(object: K8sObject | undefined): PodSpec {
  const spec = object?.spec?.template?.spec;
  if (spec === undefined) throw new Error(`${object?.kind}/${object?.metadata.name} has no pod template`);
  return spec;
}
