import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { InfraError } from './errors.js';

/** Every component the native infrastructure can run, in start order. */
export const COMPONENT_NAMES = ['kafka', 'cassandra', 'redis', 'schema-registry', 's3'] as const;

/** One of {@link COMPONENT_NAMES}. */
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/** The loopback ports of the native servers. */
export interface InfraPorts {
  /** Kafka PLAINTEXT listener (clients). @default 19092, env CHATMESH_INFRA_KAFKA_PORT */
  kafka: number;
  /** Kafka KRaft CONTROLLER listener. @default 19093, env CHATMESH_INFRA_KAFKA_CONTROLLER_PORT */
  kafkaController: number;
  /** Cassandra CQL native transport. @default 19042, env CHATMESH_INFRA_CASSANDRA_PORT */
  cassandra: number;
  /** Cassandra inter-node storage port (bound even on one node). @default 17000, env CHATMESH_INFRA_CASSANDRA_STORAGE_PORT */
  cassandraStorage: number;
  /** Redis. @default 16379, env CHATMESH_INFRA_REDIS_PORT */
  redis: number;
  /** The project's Confluent-compatible schema registry (HTTP). @default 18081, env CHATMESH_INFRA_SCHEMA_REGISTRY_PORT */
  schemaRegistry: number;
  /** The S3 API (versitygw). @default 17070, env CHATMESH_INFRA_S3_PORT */
  s3: number;
}

/** Options of {@link ensureInfra}, {@link stopInfra} and {@link infraStatus}, as a caller writes them. */
export interface InfraOptions {
  /** Which components to manage. @default every one of {@link COMPONENT_NAMES} */
  components?: readonly ComponentName[];
  /** Data dirs, logs and pid files. @default $CHATMESH_INFRA_DIR, else `<repo>/.infra` */
  stateDir?: string;
  /** Assembled jar directories, shared by every clone on the machine. @default $CHATMESH_CACHE_DIR, else `$XDG_CACHE_HOME/chatmesh`, else `~/.cache/chatmesh` */
  cacheDir?: string;
  /** Port overrides; each field falls back to its env variable, then its default. */
  ports?: Partial<InfraPorts>;
  /** How long one server may take to pass its health check after spawn. @default 180000, env CHATMESH_INFRA_READY_TIMEOUT_MS */
  readyTimeoutMs?: number;
  /** How long to wait for another process holding the state-dir lock. @default 600000 */
  lockTimeoutMs?: number;
  /** Where progress lines go (one line each, no trailing newline). @default discarded */
  log?: (line: string) => void;
  /** The environment the defaults are read from; tests pass a map instead of changing process.env. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Options with every default applied and validated; built by {@link compileInfraOptions}. */
export interface CompiledInfraOptions {
  readonly components: readonly ComponentName[];
  readonly repoRoot: string;
  readonly stateDir: string;
  readonly cacheDir: string;
  readonly ports: Readonly<InfraPorts>;
  readonly host: string;
  readonly readyTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly log: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Defaults, each with its unit in its name. */
export const INFRA_DEFAULTS = Object.freeze({
  ports: Object.freeze({
    kafka: 19092,
    kafkaController: 19093,
    cassandra: 19042,
    cassandraStorage: 17000,
    redis: 16379,
    schemaRegistry: 18081,
    s3: 17070,
  } satisfies InfraPorts),
  /** Every server binds loopback only: the native infrastructure is for one machine's tests. */
  host: '127.0.0.1',
  readyTimeoutMs: 180_000,
  lockTimeoutMs: 600_000,
});

const PORT_ENV: Record<keyof InfraPorts, string> = {
  kafka: 'CHATMESH_INFRA_KAFKA_PORT',
  kafkaController: 'CHATMESH_INFRA_KAFKA_CONTROLLER_PORT',
  cassandra: 'CHATMESH_INFRA_CASSANDRA_PORT',
  cassandraStorage: 'CHATMESH_INFRA_CASSANDRA_STORAGE_PORT',
  redis: 'CHATMESH_INFRA_REDIS_PORT',
  schemaRegistry: 'CHATMESH_INFRA_SCHEMA_REGISTRY_PORT',
  s3: 'CHATMESH_INFRA_S3_PORT',
};

/** The repository root, found from this file's own location (deploy/infra/src). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** Parses a comma-separated component list such as `kafka,redis`. @throws InfraError CM_ERR_INFRA_OPTIONS_INVALID */
export function parseComponentList(text: string): ComponentName[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  const unknown = names.filter((name) => !(COMPONENT_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new InfraError(
      'CM_ERR_INFRA_OPTIONS_INVALID',
      `Unknown component list "${text}": expected a comma-separated subset of ${COMPONENT_NAMES.join(', ')}`,
      { context: { unknown } },
    );
  }
  return COMPONENT_NAMES.filter((name) => names.includes(name));
}

/**
 * Applies env variables and defaults to `options` and validates the result; collects every problem
 * before failing.
 * @throws InfraError CM_ERR_INFRA_OPTIONS_INVALID listing each bad option with its value.
 */
export function compileInfraOptions(options: InfraOptions = {}): CompiledInfraOptions {
  const env = options.env ?? process.env;
  const problems: string[] = [];

  const ports = { ...INFRA_DEFAULTS.ports };
  for (const key of Object.keys(PORT_ENV) as (keyof InfraPorts)[]) {
    const fromOption = options.ports?.[key];
    const fromEnv = env[PORT_ENV[key]];
    const value = fromOption ?? (fromEnv === undefined || fromEnv === '' ? ports[key] : Number(fromEnv));
    if (!Number.isInteger(value) || value < 1 || value > 65_535) {
      problems.push(`port ${key} (${PORT_ENV[key]}) must be an integer 1-65535 (got ${String(fromOption ?? fromEnv)})`);
    } else {
      ports[key] = value;
    }
  }
  const portOwners = new Map<number, string>();
  for (const [key, port] of Object.entries(ports)) {
    const other = portOwners.get(port);
    if (other !== undefined) problems.push(`ports ${other} and ${key} are both ${port}`);
    portOwners.set(port, key);
  }

  const readyTimeoutMs = options.readyTimeoutMs ?? numberFromEnv(env.CHATMESH_INFRA_READY_TIMEOUT_MS);
  if (readyTimeoutMs !== undefined && !(readyTimeoutMs > 0)) {
    problems.push(`readyTimeoutMs (CHATMESH_INFRA_READY_TIMEOUT_MS) must be > 0 (got ${readyTimeoutMs})`);
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? INFRA_DEFAULTS.lockTimeoutMs;
  if (!(lockTimeoutMs > 0)) problems.push(`lockTimeoutMs must be > 0 (got ${lockTimeoutMs})`);

  const components = options.components ?? COMPONENT_NAMES;
  const unknown = components.filter((name) => !(COMPONENT_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) problems.push(`unknown components: ${unknown.join(', ')}`);

  if (problems.length > 0) {
    throw new InfraError('CM_ERR_INFRA_OPTIONS_INVALID', `Invalid infra options: ${problems.join('; ')}`, {
      context: { problems },
    });
  }

  const stateDir = absolute(options.stateDir ?? nonEmpty(env.CHATMESH_INFRA_DIR) ?? join(REPO_ROOT, '.infra'));
  const cacheDir = absolute(
    options.cacheDir ??
      nonEmpty(env.CHATMESH_CACHE_DIR) ??
      join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), '.cache'), 'chatmesh'),
  );
  return Object.freeze({
    // Keep the canonical order so dependencies (schema registry after Kafka) are easy to honour.
    components: Object.freeze(COMPONENT_NAMES.filter((name) => components.includes(name))),
    repoRoot: REPO_ROOT,
    stateDir,
    cacheDir,
    ports: Object.freeze(ports),
    host: INFRA_DEFAULTS.host,
    readyTimeoutMs: readyTimeoutMs ?? INFRA_DEFAULTS.readyTimeoutMs,
    lockTimeoutMs,
    log: options.log ?? (() => {}),
    env,
  });
}

function numberFromEnv(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}
