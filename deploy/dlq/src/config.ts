import {
  CONFIG_VARIABLES,
  ConfigError,
  STACK_HINT,
  loadConfig,
  type ConfigProblem,
  type EnvMap,
} from '@chatmesh/config';

/** What the tool needs: the same Kafka and registry the services use. */
export interface DlqConfig {
  readonly kafkaBrokers: readonly string[];
  readonly schemaRegistryUrl: string;
  /** The stack's `CHATMESH_NAMESPACE`: the twins and groups the tool reads are `<namespace>.<name>`. Absent: none. */
  readonly namespace?: string;
}

/**
 * Reads `KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL` and `CHATMESH_NAMESPACE` with the services' own validation (the
 * base table of @chatmesh/config), and requires the first two: the tool only works against a real stack
 * (embedded mode keeps its topics in the memory of the `npm start` process, out of any other process's reach).
 * Only these variables are read, so a bad setting meant for a service does not stop the tool.
 * @throws ConfigError `CM_ERR_CONFIG_INVALID` listing every problem.
 */
export function loadDlqConfig(env: EnvMap = process.env): DlqConfig {
  const relevant = {
    [CONFIG_VARIABLES.kafkaBrokers.env]: env[CONFIG_VARIABLES.kafkaBrokers.env],
    [CONFIG_VARIABLES.schemaRegistryUrl.env]: env[CONFIG_VARIABLES.schemaRegistryUrl.env],
    [CONFIG_VARIABLES.namespace.env]: env[CONFIG_VARIABLES.namespace.env],
  };
  const problems: ConfigProblem[] = [];
  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    // Embedded mode parses both variables without requiring Cassandra and Redis; presence is checked below.
    config = loadConfig({ env: { ...relevant, CHATMESH_MODE: 'embedded' } });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  for (const variable of [CONFIG_VARIABLES.kafkaBrokers, CONFIG_VARIABLES.schemaRegistryUrl]) {
    if (env[variable.env]?.trim()) continue;
    problems.push({
      variable: variable.env,
      value: undefined,
      expected: variable.expected,
      message: `${variable.env} is not set: the dlq tool reads the stack's Kafka and schema registry; expected ${variable.expected}`,
    });
  }
  if (problems.length > 0 || config?.schemaRegistryUrl === undefined) throw new ConfigError(problems, STACK_HINT);
  return {
    kafkaBrokers: config.kafkaBrokers,
    schemaRegistryUrl: config.schemaRegistryUrl,
    ...(config.namespace === '' ? {} : { namespace: config.namespace }),
  };
}
