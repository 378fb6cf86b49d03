import type { ComponentName, CompiledInfraOptions } from '../infra-options.js';
import type { DaemonSpec } from '../internal/process.js';

/** One health probe's answer. */
export interface HealthReport {
  readonly healthy: boolean;
  /** The version the running server reports about itself, when it does. */
  readonly version?: string;
  /** Why it is not healthy, or extra facts (cluster id, data center). */
  readonly detail?: string;
}

/** Paths of one component's state: `<state dir>/<component>/`. */
export interface ComponentPaths {
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pidFile: string;
}

/** What @chatmesh/infra needs to know to install, start, check and stop one server. */
export interface ComponentDriver {
  readonly name: ComponentName;
  /** Components that must be healthy before this one starts. */
  readonly dependsOn: readonly ComponentName[];
  /** How long SIGTERM may take before SIGKILL. */
  readonly stopGraceMs: number;
  /** Ports the server binds, to detect a foreign process in the way. */
  ports(options: CompiledInfraOptions): number[];
  /** The address printed by `status`, such as `127.0.0.1:19092`. */
  address(options: CompiledInfraOptions): string;
  /** Installs what is missing (jars, config, formatted storage) and returns how to spawn the server. */
  prepare(options: CompiledInfraOptions, paths: ComponentPaths): Promise<DaemonSpec>;
  /** One health probe; must not throw for an unhealthy server, only return `healthy: false`. */
  checkHealth(options: CompiledInfraOptions, paths: ComponentPaths): Promise<HealthReport>;
}

/** The environment handed to a server process: the caller's, minus what would confuse a child. */
export function childEnv(
  env: Readonly<Record<string, string | undefined>>,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string | undefined> {
  const copy: Record<string, string | undefined> = { ...env, ...extra };
  // Set by node:test in test files; a child node process would then talk the test runner's protocol on stdout.
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}
