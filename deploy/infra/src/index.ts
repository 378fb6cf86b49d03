/**
 * @chatmesh/infra: installs, starts, health-checks and stops the real servers chatmesh runs against
 * (Kafka 4.1 KRaft and Cassandra 5.0 from Maven Central on the machine's JDK, Debian's Redis, and the
 * project's own schema registry) as native processes on loopback, without Docker.
 *
 * The CLI is `npm run infra -- up | status | down [--wipe] | env`; tests use {@link ensureInfra}
 * through @chatmesh/testing. See docs/infrastructure.md.
 */
export {
  ensureInfra,
  stopInfra,
  infraStatus,
  infraEndpoints,
  endpointsToEnv,
  type InfraEndpoints,
  type EnsureInfraResult,
  type StopInfraOptions,
  type StoppedComponent,
  type ComponentStatus,
} from './infra.js';
export {
  compileInfraOptions,
  parseComponentList,
  COMPONENT_NAMES,
  INFRA_DEFAULTS,
  REPO_ROOT,
  type ComponentName,
  type InfraOptions,
  type InfraPorts,
  type CompiledInfraOptions,
} from './infra-options.js';
export type { HealthReport } from './components/component.js';
export { probeKafka, KAFKA_PROBE_TOPIC } from './components/kafka.js';
export { probeCassandra, CASSANDRA_LOCAL_DATA_CENTER } from './components/cassandra.js';
export { probeRedis } from './components/redis.js';
export { probeSchemaRegistry, SCHEMA_REGISTRY_MAIN } from './components/schema-registry.js';
export { probeS3, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_BUCKET, S3_REGION } from './components/s3.js';
export { InfraError, type InfraErrorComponent } from './errors.js';
export { KAFKA_VERSION, CASSANDRA_VERSION, VERSITYGW_VERSION } from './versions.js';
export {
  ensureGoTool,
  ensureGoProgram,
  ensurePipTool,
  ensureDebianProgram,
  toolsCacheDir,
  type GoToolSpec,
  type PipToolSpec,
  type ToolOptions,
} from './tools.js';
