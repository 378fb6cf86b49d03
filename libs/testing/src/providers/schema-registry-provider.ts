import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { probeSchemaRegistry, REPO_ROOT, SCHEMA_REGISTRY_MAIN } from '@chatmesh/infra';

import { TestingError } from '../errors.js';
import { kafkaBrokersFromEnv, schemaRegistryUrlFromEnv } from '../env-endpoints.js';
import { findFreePort } from '../internal/free-port.js';
import { startKafka } from './kafka-provider.js';
import {
  checkEnvServer,
  chooseSpawningProvider,
  compileProviderOptions,
  HOW_TO_GET,
  once,
  provideNative,
  type CompiledProviderOptions,
  type ProvidedServer,
  type ProviderOptions,
  waitForHealthy,
} from './provider.js';

/** A Confluent-compatible schema registry for a test. */
export interface SchemaRegistryServer extends ProvidedServer {
  /** `http://host:port`, for `@kafkajs/confluent-schema-registry`. */
  readonly url: string;
  /** The brokers whose `_schemas` topic it stores schemas in, when the provider knows them. */
  readonly kafkaBrokers: string[] | undefined;
}

/**
 * Provides a Confluent-compatible schema registry: SCHEMA_REGISTRY_URL / CHATMESH_TEST_SCHEMA_REGISTRY
 * when set; else, when Kafka itself comes from the environment or a container, the project's registry
 * (libs/schema-registry) as a child process on a free port against that Kafka; else the native
 * registry and broker of @chatmesh/infra (reused if they run).
 * @throws TestingError CM_ERR_TESTING_NO_SERVER (with how to get one), CM_ERR_TESTING_ENDPOINT_INVALID
 */
export async function startSchemaRegistry(options: ProviderOptions = {}): Promise<SchemaRegistryServer> {
  const compiled = compileProviderOptions(options);
  const fromEnv =
    compiled.provider === 'auto' || compiled.provider === 'env' ? schemaRegistryUrlFromEnv(compiled.env) : undefined;
  if (fromEnv !== undefined) {
    const health = await checkEnvServer(
      'schema-registry',
      fromEnv,
      () => probeSchemaRegistry(fromEnv),
      Math.min(compiled.readyTimeoutMs, 30_000),
    );
    return {
      provider: 'env',
      url: fromEnv,
      kafkaBrokers: kafkaBrokersFromEnv(compiled.env),
      version: health.version,
      stop: async () => {},
    };
  }
  const kafkaFromEnv = compiled.provider !== 'native' && kafkaBrokersFromEnv(compiled.env) !== undefined;
  if (kafkaFromEnv || (compiled.provider !== 'env' && (await chooseSpawningProvider(compiled)) === 'testcontainers')) {
    const kafka = await startKafka(options);
    try {
      const registry = await spawnRegistry(kafka.brokers, compiled);
      return {
        ...registry,
        provider: kafka.provider,
        kafkaBrokers: kafka.brokers,
        stop: once(async () => {
          await registry.stop();
          await kafka.stop();
        }),
      };
    } catch (error) {
      await kafka.stop();
      throw error;
    }
  }
  if (compiled.provider === 'env') {
    throw new TestingError(
      'CM_ERR_TESTING_NO_SERVER',
      `CHATMESH_TEST_PROVIDER=env but neither a schema registry nor a Kafka endpoint is set: ${HOW_TO_GET['schema-registry']}`,
      { server: 'schema-registry' },
    );
  }
  const { result, stop } = await provideNative('schema-registry', ['kafka', 'schema-registry'], compiled);
  return {
    provider: 'native',
    url: result.endpoints.schemaRegistryUrl,
    kafkaBrokers: result.endpoints.kafkaBrokers,
    version: result.health['schema-registry']?.version,
    stop,
  };
}

/** Runs libs/schema-registry as a child of the test process, bound to a free loopback port. */
async function spawnRegistry(
  brokers: string[],
  options: CompiledProviderOptions,
): Promise<{ url: string; version: string | undefined; stop: () => Promise<void> }> {
  const main = join(REPO_ROOT, SCHEMA_REGISTRY_MAIN);
  if (!existsSync(main)) {
    throw new TestingError(
      'CM_ERR_TESTING_NO_SERVER',
      `The schema registry entry point ${SCHEMA_REGISTRY_MAIN} is missing; ${HOW_TO_GET['schema-registry']}`,
      {
        server: 'schema-registry',
      },
    );
  }
  const port = await findFreePort();
  const env: Record<string, string | undefined> = {
    ...options.env,
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_HOST: '127.0.0.1',
    SCHEMA_REGISTRY_PORT: String(port),
  };
  // Set by node:test; the child would otherwise speak the test runner's protocol on stdout.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
  const stop = once(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  const url = `http://127.0.0.1:${port}`;
  options.log(`schema-registry: started pid ${child.pid} at ${url} against ${brokers.join(',')}`);
  try {
    const health = await waitForHealthy(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${output}`);
        return probeSchemaRegistry(url);
      },
      options.readyTimeoutMs,
      `schema registry at ${url}`,
    );
    return { url, version: health.version, stop };
  } catch (error) {
    await stop();
    throw new TestingError(
      'CM_ERR_TESTING_NO_SERVER',
      `The schema registry did not become healthy: ${(error as Error).message}\n${output}`,
      {
        server: 'schema-registry',
        cause: error,
      },
    );
  }
}
