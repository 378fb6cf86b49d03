import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { cassandraDriver, CASSANDRA_LOCAL_DATA_CENTER } from './components/cassandra.js';
import type { ComponentDriver, ComponentPaths, HealthReport } from './components/component.js';
import { kafkaDriver } from './components/kafka.js';
import { redisDriver } from './components/redis.js';
import { S3_ACCESS_KEY_ID, S3_BUCKET, S3_REGION, S3_SECRET_ACCESS_KEY, s3Driver } from './components/s3.js';
import { schemaRegistryDriver } from './components/schema-registry.js';
import { InfraError } from './errors.js';
import {
  compileInfraOptions,
  type CompiledInfraOptions,
  type ComponentName,
  type InfraOptions,
} from './infra-options.js';
import { withLockFile } from './internal/lock.js';
import { isPortOpen } from './internal/net.js';
import {
  isRecordAlive,
  readPidFile,
  readRssBytes,
  removePidFile,
  spawnDaemon,
  stopProcess,
  summarizeLog,
  writePidFile,
  type PidRecord,
} from './internal/process.js';

const DRIVERS: Readonly<Record<ComponentName, ComponentDriver>> = {
  kafka: kafkaDriver,
  cassandra: cassandraDriver,
  redis: redisDriver,
  'schema-registry': schemaRegistryDriver,
  s3: s3Driver,
};

/** How clients reach the native servers. */
export interface InfraEndpoints {
  /** `host:port` of each broker, for kafkajs `brokers`. */
  readonly kafkaBrokers: string[];
  /** `host:port` of each node, for cassandra-driver `contactPoints`. */
  readonly cassandraContactPoints: string[];
  /** cassandra-driver `localDataCenter`. */
  readonly cassandraLocalDataCenter: string;
  /** `redis://host:port`, for ioredis. */
  readonly redisUrl: string;
  /** `http://host:port` of the Confluent-compatible registry. */
  readonly schemaRegistryUrl: string;
  /** The S3 API (versitygw), its root keys, region and the attachments bucket. */
  readonly s3: {
    readonly endpoint: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly region: string;
    readonly bucket: string;
  };
}

/** What `status` knows about one component. */
export interface ComponentStatus {
  readonly component: ComponentName;
  /**
   * `running`: our pid file names a live process. `stopped`: no pid file. `crashed`: a pid file whose
   * process is gone. `foreign`: no process of ours, yet its port answers (someone else's server).
   */
  readonly state: 'running' | 'stopped' | 'crashed' | 'foreign';
  readonly address: string;
  readonly pid?: number;
  readonly rssBytes?: number;
  /** The health probe's answer; absent when nothing listens. */
  readonly health?: HealthReport;
  readonly logFile: string;
}

/** What {@link ensureInfra} did. */
export interface EnsureInfraResult {
  readonly endpoints: InfraEndpoints;
  /** Components this call spawned; stop exactly these with `stopInfra({ components: started })`. */
  readonly started: ComponentName[];
  /** Components that were already running (started earlier by `up` or another test run). */
  readonly reused: ComponentName[];
  /** Health (with the real versions) of every selected component after start. */
  readonly health: Readonly<Partial<Record<ComponentName, HealthReport>>>;
  /** Milliseconds from the call to every selected component being healthy. */
  readonly elapsedMs: number;
}

/** Options of {@link stopInfra}. */
export interface StopInfraOptions extends InfraOptions {
  /** Also delete the components' data, logs and configs. @default false */
  wipe?: boolean;
}

/** One stopped (or cleaned-up) component, as {@link stopInfra} reports it. */
export interface StoppedComponent {
  readonly component: ComponentName;
  readonly pid?: number;
  /** `exited` after SIGTERM, `killed` after SIGKILL, `stale` (only a pid file of a dead process was left), `none`. */
  readonly outcome: 'exited' | 'killed' | 'stale' | 'none';
}

/** The endpoints the native servers listen on, from the options alone (they need not be running). */
export function infraEndpoints(options: InfraOptions = {}): InfraEndpoints {
  const compiled = compileInfraOptions(options);
  const { host, ports } = compiled;
  return {
    kafkaBrokers: [`${host}:${ports.kafka}`],
    cassandraContactPoints: [`${host}:${ports.cassandra}`],
    cassandraLocalDataCenter: CASSANDRA_LOCAL_DATA_CENTER,
    redisUrl: `redis://${host}:${ports.redis}`,
    schemaRegistryUrl: `http://${host}:${ports.schemaRegistry}`,
    s3: {
      endpoint: `http://${host}:${ports.s3}`,
      accessKeyId: S3_ACCESS_KEY_ID,
      secretAccessKey: S3_SECRET_ACCESS_KEY,
      region: S3_REGION,
      bucket: S3_BUCKET,
    },
  };
}

/**
 * The environment variables that point clients (services, tests, shells) at the given endpoints:
 * KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS, CASSANDRA_LOCAL_DC, REDIS_URL, SCHEMA_REGISTRY_URL, and S3_ENDPOINT,
 * S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION, S3_BUCKET;
 * only those of `components`.
 */
export function endpointsToEnv(
  endpoints: InfraEndpoints,
  components: readonly ComponentName[] = ['kafka', 'cassandra', 'redis', 'schema-registry', 's3'],
): Record<string, string> {
  const env: Record<string, string> = {};
  if (components.includes('kafka')) env.KAFKA_BROKERS = endpoints.kafkaBrokers.join(',');
  if (components.includes('cassandra')) {
    env.CASSANDRA_CONTACT_POINTS = endpoints.cassandraContactPoints.join(',');
    env.CASSANDRA_LOCAL_DC = endpoints.cassandraLocalDataCenter;
  }
  if (components.includes('redis')) env.REDIS_URL = endpoints.redisUrl;
  if (components.includes('schema-registry')) env.SCHEMA_REGISTRY_URL = endpoints.schemaRegistryUrl;
  if (components.includes('s3')) {
    env.S3_ENDPOINT = endpoints.s3.endpoint;
    env.S3_ACCESS_KEY_ID = endpoints.s3.accessKeyId;
    env.S3_SECRET_ACCESS_KEY = endpoints.s3.secretAccessKey;
    env.S3_REGION = endpoints.s3.region;
    env.S3_BUCKET = endpoints.s3.bucket;
  }
  return env;
}

function pathsOf(options: CompiledInfraOptions, component: ComponentName): ComponentPaths {
  const dir = join(options.stateDir, component);
  return {
    dir,
    dataDir: join(dir, 'data'),
    logFile: join(dir, `${component}.log`),
    pidFile: join(dir, `${component}.pid`),
  };
}

/**
 * Makes sure the selected native servers run and are healthy: reuses those already running (their
 * pid file names a live process), cleans up after crashed ones, and starts the rest (in parallel,
 * the schema registry after Kafka). Idempotent: a second call starts nothing. If any component fails,
 * the ones this call started are stopped again before the error is thrown.
 * @throws InfraError CM_ERR_INFRA_PORT_IN_USE, _TOOL_MISSING, _DOWNLOAD_FAILED, _START_FAILED,
 *   _NOT_READY, _COMPONENT_MISSING, _LOCKED.
 */
export async function ensureInfra(options: InfraOptions = {}): Promise<EnsureInfraResult> {
  const compiled = compileInfraOptions(options);
  const startedMs = Date.now();
  return withLockFile(join(compiled.stateDir, 'infra.lock'), compiled.lockTimeoutMs, async () => {
    const started: ComponentName[] = [];
    const reused: ComponentName[] = [];
    const health: Partial<Record<ComponentName, HealthReport>> = {};
    const ready = new Map<ComponentName, Promise<void>>();

    const bringUp = async (component: ComponentName): Promise<void> => {
      const driver = DRIVERS[component];
      // Dependencies outside the selection are expected to run already (`up --only schema-registry`).
      await Promise.all(driver.dependsOn.map((dependency) => ready.get(dependency)));
      const paths = pathsOf(compiled, component);
      const record = readPidFile(paths.pidFile);
      if (record !== undefined && isRecordAlive(record)) {
        reused.push(component);
        health[component] = await waitUntilHealthy(compiled, driver, paths, record, undefined);
        compiled.log(`${component}: already running (pid ${record.pid}), ${describe(health[component])}`);
        return;
      }
      if (record !== undefined) {
        compiled.log(`${component}: removing stale pid file of dead process ${record.pid}`);
        removePidFile(paths.pidFile);
      }
      for (const port of driver.ports(compiled)) {
        if (await isPortOpen(compiled.host, port)) {
          throw new InfraError(
            'CM_ERR_INFRA_PORT_IN_USE',
            `${component} cannot start: ${compiled.host}:${port} is taken by a process this state dir (${compiled.stateDir}) did not start`,
            { component, context: { port } },
          );
        }
      }
      const spec = await driver.prepare(compiled, paths);
      const { record: spawned, exited } = spawnDaemon(spec);
      if (spawned.pid <= 0) {
        const code = await exited;
        throw new InfraError(
          'CM_ERR_INFRA_START_FAILED',
          `${component}: could not spawn ${spec.command} (exit ${code})`,
          {
            component,
            logFile: paths.logFile,
          },
        );
      }
      writePidFile(paths.pidFile, spawned);
      started.push(component);
      compiled.log(`${component}: started pid ${spawned.pid}, log ${paths.logFile}`);
      health[component] = await waitUntilHealthy(compiled, driver, paths, spawned, exited);
      compiled.log(
        `${component}: healthy after ${((Date.now() - spawned.startedAtMs) / 1000).toFixed(1)} s, ${describe(health[component])}`,
      );
    };

    for (const component of compiled.components) {
      ready.set(component, bringUp(component));
    }
    const results = await Promise.allSettled(ready.values());
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    if (failures.length > 0) {
      if (started.length > 0) {
        compiled.log(`stopping what this call started (${started.join(', ')}) after the failure`);
        await stopLocked(compiled, started, false).catch(() => {});
      }
      throw failures[0];
    }
    return {
      endpoints: infraEndpoints(options),
      started: compiled.components.filter((component) => started.includes(component)),
      reused: compiled.components.filter((component) => reused.includes(component)),
      health,
      elapsedMs: Date.now() - startedMs,
    };
  });
}

async function waitUntilHealthy(
  options: CompiledInfraOptions,
  driver: ComponentDriver,
  paths: ComponentPaths,
  record: PidRecord,
  exited: Promise<number | null> | undefined,
): Promise<HealthReport> {
  const deadline = Date.now() + options.readyTimeoutMs;
  let exitCode: number | null | undefined;
  let hasExited = false;
  void exited?.then((code) => {
    exitCode = code;
    hasExited = true;
  });
  let last: HealthReport = { healthy: false, detail: 'not probed yet' };
  for (;;) {
    if (hasExited || !isRecordAlive(record)) {
      removePidFile(paths.pidFile);
      throw new InfraError(
        'CM_ERR_INFRA_START_FAILED',
        `${driver.name} (pid ${record.pid}) exited${hasExited ? ` with ${exitCode}` : ''} before it was healthy; from ${paths.logFile}:\n${summarizeLog(paths.logFile)}`,
        { component: driver.name, logFile: paths.logFile, context: { pid: record.pid, exitCode } },
      );
    }
    last = await driver.checkHealth(options, paths);
    if (last.healthy) return last;
    if (Date.now() > deadline) {
      throw new InfraError(
        'CM_ERR_INFRA_NOT_READY',
        `${driver.name} (pid ${record.pid}) was not healthy within ${options.readyTimeoutMs} ms (last probe: ${last.detail}); from ${paths.logFile}:\n${summarizeLog(paths.logFile)}`,
        { component: driver.name, logFile: paths.logFile, context: { pid: record.pid } },
      );
    }
    await sleep(500);
  }
}

function describe(health: HealthReport | undefined): string {
  if (health === undefined) return 'unknown';
  return [health.version === undefined ? undefined : `version ${health.version}`, health.detail]
    .filter(Boolean)
    .join(', ');
}

/**
 * Stops the selected components that this state dir started (from their pid files), dependents
 * first, and removes their pid files, also after a crash (a pid file of a dead process is just removed).
 * It never signals a pid that now belongs to another process (start times are compared).
 * Every component is attempted even if one fails; the first failure is thrown afterwards.
 * @throws InfraError CM_ERR_INFRA_STOP_FAILED, CM_ERR_INFRA_LOCKED.
 */
export async function stopInfra(options: StopInfraOptions = {}): Promise<StoppedComponent[]> {
  const compiled = compileInfraOptions(options);
  return withLockFile(join(compiled.stateDir, 'infra.lock'), compiled.lockTimeoutMs, () =>
    stopLocked(compiled, compiled.components, options.wipe ?? false),
  );
}

async function stopLocked(
  options: CompiledInfraOptions,
  components: readonly ComponentName[],
  wipe: boolean,
): Promise<StoppedComponent[]> {
  const outcomes: StoppedComponent[] = [];
  const failures: unknown[] = [];
  const stopOne = async (component: ComponentName): Promise<void> => {
    const paths = pathsOf(options, component);
    const record = readPidFile(paths.pidFile);
    try {
      if (record === undefined) {
        outcomes.push({ component, outcome: 'none' });
      } else if (!isRecordAlive(record)) {
        options.log(`${component}: pid ${record.pid} is not running; removing its pid file`);
        outcomes.push({ component, pid: record.pid, outcome: 'stale' });
      } else {
        const outcome = await stopProcess(record.pid, { graceMs: DRIVERS[component].stopGraceMs, component });
        options.log(
          `${component}: pid ${record.pid} ${outcome === 'killed' ? 'killed after SIGTERM timed out' : 'stopped'}`,
        );
        outcomes.push({ component, pid: record.pid, outcome: outcome === 'gone' ? 'stale' : outcome });
      }
      removePidFile(paths.pidFile);
      if (wipe) {
        rmSync(paths.dir, { recursive: true, force: true });
        options.log(`${component}: wiped ${paths.dir}`);
      }
    } catch (error) {
      failures.push(error);
    }
  };
  // The schema registry writes through Kafka: stop it first so it does not log a storm of broker errors.
  const dependents = components.filter((component) => DRIVERS[component].dependsOn.length > 0);
  const others = components.filter((component) => !dependents.includes(component));
  await Promise.all(dependents.map(stopOne));
  await Promise.all(others.map(stopOne));
  if (failures.length > 0) throw failures[0];
  return outcomes;
}

/** The state of each selected component: process, memory, and a live health probe with its version. */
export async function infraStatus(options: InfraOptions = {}): Promise<ComponentStatus[]> {
  const compiled = compileInfraOptions(options);
  return Promise.all(
    compiled.components.map(async (component): Promise<ComponentStatus> => {
      const driver = DRIVERS[component];
      const paths = pathsOf(compiled, component);
      const record = readPidFile(paths.pidFile);
      const alive = record !== undefined && isRecordAlive(record);
      const address = driver.address(compiled);
      const base = { component, address, logFile: paths.logFile };
      if (alive) {
        return {
          ...base,
          state: 'running',
          pid: record.pid,
          rssBytes: readRssBytes(record.pid),
          health: await driver.checkHealth(compiled, paths),
        };
      }
      const listening = await isPortOpen(compiled.host, driver.ports(compiled)[0] ?? 0);
      if (listening) return { ...base, state: 'foreign', health: await driver.checkHealth(compiled, paths) };
      return { ...base, state: record === undefined ? 'stopped' : 'crashed' };
    }),
  );
}
