import { ensureInfra, stopInfra, type ComponentName, type EnsureInfraResult } from '@chatmesh/infra';

import { TestingError, type TestServer } from '../errors.js';
import { isDockerAvailable } from '../internal/docker.js';
import { waitFor } from '../wait-for.js';

/** Where a server came from: endpoints in the environment, a testcontainers container, or the native servers of @chatmesh/infra. */
export type ProviderKind = 'env' | 'testcontainers' | 'native';

/** What every provider returns besides its endpoints. */
export interface ProvidedServer {
  readonly provider: ProviderKind;
  /** The version the server reports, when the provider knows it. */
  readonly version: string | undefined;
  /**
   * Releases the server: stops the container or the native servers this call started; a no-op for
   * endpoints from the environment and for native servers that were already running. Idempotent.
   */
  stop(): Promise<void>;
}

/** Options every `startX()` accepts. */
export interface ProviderOptions {
  /** The environment endpoints are read from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Forces one provider instead of the order env → testcontainers → native.
   * @default env CHATMESH_TEST_PROVIDER, else 'auto'
   */
  provider?: ProviderKind | 'auto';
  /**
   * Leaves native servers this call started running after `stop()`, so the next test file reuses
   * them (stop them with `npm run infra -- down`). @default env CHATMESH_TEST_KEEP_INFRA === '1'
   */
  keepStarted?: boolean;
  /** How long the server may take to become healthy. @default 180000 */
  readyTimeoutMs?: number;
  /** Progress lines (native start, container start). @default written to stderr */
  log?: (line: string) => void;
}

/** {@link ProviderOptions} with defaults applied. */
export interface CompiledProviderOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly provider: ProviderKind | 'auto';
  readonly keepStarted: boolean;
  readonly readyTimeoutMs: number;
  readonly log: (line: string) => void;
}

const PROVIDER_KINDS: readonly string[] = ['env', 'testcontainers', 'native', 'auto'];

/** Applies defaults. @throws TestingError CM_ERR_TESTING_ENDPOINT_INVALID for an unknown CHATMESH_TEST_PROVIDER. */
export function compileProviderOptions(options: ProviderOptions = {}): CompiledProviderOptions {
  const env = options.env ?? process.env;
  const provider = options.provider ?? (env.CHATMESH_TEST_PROVIDER?.trim() || 'auto');
  if (!PROVIDER_KINDS.includes(provider)) {
    throw new TestingError(
      'CM_ERR_TESTING_ENDPOINT_INVALID',
      `CHATMESH_TEST_PROVIDER="${provider}" must be one of ${PROVIDER_KINDS.join(', ')}`,
      { context: { provider } },
    );
  }
  return {
    env,
    provider: provider as ProviderKind | 'auto',
    keepStarted: options.keepStarted ?? env.CHATMESH_TEST_KEEP_INFRA === '1',
    readyTimeoutMs: options.readyTimeoutMs ?? 180_000,
    log: options.log ?? ((line) => process.stderr.write(`[chatmesh/testing] ${line}\n`)),
  };
}

/** How to get a server, for the error a test fails with when none can be had. */
export const HOW_TO_GET: Readonly<Record<TestServer, string>> = {
  kafka:
    'set KAFKA_BROKERS (or CHATMESH_TEST_KAFKA) to a host:port list, start a Docker engine, or run `npm run infra -- up`',
  cassandra:
    'set CASSANDRA_CONTACT_POINTS (or CHATMESH_TEST_CASSANDRA) to a host:port list, start a Docker engine, or run `npm run infra -- up`',
  redis:
    'set REDIS_URL (or CHATMESH_TEST_REDIS) to redis://host:port, start a Docker engine, or run `npm run infra -- up`',
  'schema-registry':
    'set SCHEMA_REGISTRY_URL (or CHATMESH_TEST_SCHEMA_REGISTRY) to http://host:port, or run `npm run infra -- up` (it serves libs/schema-registry)',
  s3: 'set S3_ENDPOINT (or CHATMESH_TEST_S3) to http://host:port with S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or run `npm run infra -- up --only s3` (versitygw; needs Go the first time)',
};

/**
 * The endpoint the environment gives for `server`, when the chosen provider may use it (`auto` or `env`).
 * @throws TestingError CM_ERR_TESTING_NO_SERVER when CHATMESH_TEST_PROVIDER=env and none is set
 */
export function endpointFromEnv<T>(
  options: CompiledProviderOptions,
  server: TestServer,
  label: string,
  read: (env: CompiledProviderOptions['env']) => T | undefined,
): T | undefined {
  const value = options.provider === 'auto' || options.provider === 'env' ? read(options.env) : undefined;
  if (value === undefined && options.provider === 'env') {
    throw new TestingError(
      'CM_ERR_TESTING_NO_SERVER',
      `CHATMESH_TEST_PROVIDER=env but no ${label} endpoint is set: ${HOW_TO_GET[server]}`,
      { server },
    );
  }
  return value;
}

/** Which provider to use when no endpoint came from the environment. */
export async function chooseSpawningProvider(options: CompiledProviderOptions): Promise<'testcontainers' | 'native'> {
  if (options.provider === 'testcontainers' || options.provider === 'native') return options.provider;
  return (await isDockerAvailable(options.env)) ? 'testcontainers' : 'native';
}

/**
 * Waits until `probe` reports a healthy server given in the environment, so a wrong variable fails
 * here with its name instead of as a timeout deep inside a test.
 * @throws TestingError CM_ERR_TESTING_NO_SERVER
 */
export async function checkEnvServer<T extends { healthy: boolean; version?: string; detail?: string }>(
  server: TestServer,
  endpoint: string,
  probe: () => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  let last: T | undefined;
  try {
    return await waitFor(
      async () => {
        last = await probe();
        return last.healthy ? last : undefined;
      },
      { timeoutMs, intervalMs: 500, description: `${server} at ${endpoint}` },
    );
  } catch (error) {
    throw new TestingError(
      'CM_ERR_TESTING_NO_SERVER',
      `${server} at ${endpoint} (from the environment) is not healthy: ${last?.detail ?? 'no answer'}; fix the variable or ${HOW_TO_GET[server]}`,
      { server, cause: error, context: { endpoint } },
    );
  }
}

/**
 * Gets servers from @chatmesh/infra: reuses them when they run, starts them otherwise; `stop()` stops
 * only what this call started (unless `keepStarted`).
 * @throws TestingError CM_ERR_TESTING_NO_SERVER wrapping the infra error.
 */
export async function provideNative(
  server: TestServer,
  components: ComponentName[],
  options: CompiledProviderOptions,
): Promise<{ result: EnsureInfraResult; stop: () => Promise<void> }> {
  let result: EnsureInfraResult;
  try {
    result = await ensureInfra({
      components,
      log: options.log,
      env: options.env,
      readyTimeoutMs: options.readyTimeoutMs,
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    throw new TestingError(
      'CM_ERR_TESTING_NO_SERVER',
      `The native ${server} could not be started (${code}: ${(error as Error).message.split('\n')[0]}); ${HOW_TO_GET[server]}`,
      { server, cause: error },
    );
  }
  const started = result.started;
  if (started.length > 0 && options.keepStarted) {
    options.log(
      `keeping ${started.join(', ')} running (CHATMESH_TEST_KEEP_INFRA=1); stop with \`npm run infra -- down\``,
    );
  }
  return {
    result,
    stop: once(async () => {
      if (started.length > 0 && !options.keepStarted)
        await stopInfra({ components: started, log: options.log, env: options.env });
    }),
  };
}

/** Wraps `stop` so that calling it twice (an `after` hook and a `finally`) stops once. */
export function once(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= stop());
}

/** Polls a health probe until it reports healthy, returning its report. @throws TestingError CM_ERR_TESTING_WAIT_TIMEOUT */
export function waitForHealthy<T extends { healthy: boolean }>(
  probe: () => Promise<T>,
  timeoutMs: number,
  description: string,
): Promise<T> {
  return waitFor(
    async () => {
      const report = await probe();
      return report.healthy ? report : undefined;
    },
    { timeoutMs, intervalMs: 500, description },
  );
}
