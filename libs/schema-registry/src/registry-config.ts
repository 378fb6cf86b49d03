import { ChatmeshError } from '@chatmesh/errors';

/** What `main.ts` reads from the environment. */
export interface RegistryConfig {
  /** `KAFKA_BROKERS`, a comma list of host:port (required). */
  readonly kafkaBrokers: readonly string[];
  /** `SCHEMA_REGISTRY_HOST`. @default '127.0.0.1' */
  readonly host: string;
  /** `SCHEMA_REGISTRY_PORT`. @default 18081 */
  readonly port: number;
  /** `SCHEMA_REGISTRY_TOPIC`. @default '_schemas' */
  readonly topic: string;
}

/** Defaults, in one place. */
const DEFAULTS = { host: '127.0.0.1', port: 18081, topic: '_schemas' } as const;

/**
 * Reads and validates the registry's environment, listing every bad variable at once.
 * @throws ChatmeshError CM_ERR_SCHEMA_REGISTRY_CONFIG_INVALID
 */
export function loadRegistryConfig(env: Readonly<Record<string, string | undefined>>): RegistryConfig {
  const problems: string[] = [];
  const brokers = (env['KAFKA_BROKERS'] ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  if (brokers.length === 0) problems.push('KAFKA_BROKERS is required: a comma list of host:port, e.g. 127.0.0.1:19092');
  for (const broker of brokers) {
    if (!/^[^:\s]+:[0-9]{1,5}$/.test(broker))
      problems.push(`KAFKA_BROKERS entry ${JSON.stringify(broker)} is not host:port`);
  }
  const rawPort = env['SCHEMA_REGISTRY_PORT'];
  const port = rawPort === undefined || rawPort === '' ? DEFAULTS.port : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    problems.push(`SCHEMA_REGISTRY_PORT=${JSON.stringify(rawPort)} is not a port number (0-65535)`);
  }
  const host = env['SCHEMA_REGISTRY_HOST'] || DEFAULTS.host;
  const topic = env['SCHEMA_REGISTRY_TOPIC'] || DEFAULTS.topic;
  if (problems.length > 0) {
    throw new ChatmeshError(
      'CM_ERR_SCHEMA_REGISTRY_CONFIG_INVALID',
      `invalid schema registry configuration: ${problems.join('; ')}`,
      {
        context: { problems },
      },
    );
  }
  return Object.freeze({ kafkaBrokers: Object.freeze(brokers), host, port, topic });
}
