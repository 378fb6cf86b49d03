/** @chatmesh/k8s: the Helm chart's test tooling and the Grafana dashboards as code. See k8s/README.md. */
export {
  CHART_DIR,
  PROFILES,
  PROFILES_DIR,
  RULES_FILE,
  DASHBOARDS_DIR,
  ensureHelm,
  ensureValidator,
  ensurePrometheus,
} from './tools.js';
