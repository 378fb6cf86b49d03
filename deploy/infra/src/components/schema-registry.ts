import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { InfraError } from '../errors.js';
import { childEnv, type ComponentDriver, type HealthReport } from './component.js';

/** Where the project's own Confluent-compatible registry starts, relative to the repository root. */
export const SCHEMA_REGISTRY_MAIN = 'libs/schema-registry/src/main.ts';

/**
 * The project's Confluent-compatible schema registry (libs/schema-registry), a Node process that keeps
 * its schemas in Kafka's compacted `_schemas` topic; so it starts after Kafka is ready.
 */
export const schemaRegistryDriver: ComponentDriver = {
  name: 'schema-registry',
  dependsOn: ['kafka'],
  stopGraceMs: 10_000,
  ports: (options) => [options.ports.schemaRegistry],
  address: (options) => `http://${options.host}:${options.ports.schemaRegistry}`,

  async prepare(options, paths) {
    const main = join(options.repoRoot, SCHEMA_REGISTRY_MAIN);
    if (!existsSync(main)) {
      throw new InfraError(
        'CM_ERR_INFRA_COMPONENT_MISSING',
        `The schema registry entry point ${SCHEMA_REGISTRY_MAIN} does not exist; start the rest with \`npm run infra -- up --only kafka,cassandra,redis\``,
        { component: 'schema-registry', context: { main } },
      );
    }
    return {
      command: process.execPath,
      args: ['--import', 'tsx', main],
      cwd: options.repoRoot,
      env: childEnv(options.env, {
        KAFKA_BROKERS: `${options.host}:${options.ports.kafka}`,
        SCHEMA_REGISTRY_HOST: options.host,
        SCHEMA_REGISTRY_PORT: String(options.ports.schemaRegistry),
      }),
      logFile: paths.logFile,
    };
  },

  checkHealth: (options) =>
    probeSchemaRegistry(
      `http://${options.host}:${options.ports.schemaRegistry}`,
      readPackageVersion(join(options.repoRoot, 'libs/schema-registry/package.json')),
    ),
};

/**
 * Schema registry health: `GET /subjects` answers 200 with a JSON array (as Confluent's does).
 * The version is `GET /v1/metadata/version` where the registry serves it (Confluent 7.x+), else `fallbackVersion`.
 */
export async function probeSchemaRegistry(url: string, fallbackVersion?: string): Promise<HealthReport> {
  try {
    const response = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(3_000) });
    const body: unknown = await response.json().catch(() => undefined);
    if (response.status !== 200 || !Array.isArray(body)) {
      return { healthy: false, detail: `GET /subjects answered ${response.status}` };
    }
    let version = fallbackVersion;
    try {
      const meta = await fetch(`${url}/v1/metadata/version`, { signal: AbortSignal.timeout(2_000) });
      if (meta.ok) {
        const parsed = (await meta.json()) as { version?: unknown };
        if (typeof parsed.version === 'string') version = parsed.version;
      }
    } catch {
      // Optional endpoint; the fallback stands.
    }
    return { healthy: true, version, detail: `${body.length} subject(s)` };
  } catch (error) {
    return { healthy: false, detail: (error as Error).message };
  }
}

function readPackageVersion(packageJson: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: string; version?: string };
    return parsed.version === undefined ? undefined : `${parsed.name ?? 'schema-registry'}@${parsed.version}`;
  } catch {
    return undefined;
  }
}
