import { CONFIG_DEFAULTS } from './defaults.js';
import { SERVICE_NAMES, type ServiceName } from './service-names.js';
import { defineOptionalVariable, defineVariable, parsers, type ConfigVariable } from './variable.js';

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A log level name. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** How the services run: all in one process in memory, or one process each against real servers. */
export type RunMode = 'embedded' | 'stack';

/** The base configuration every process reads. Services add their own sections (see {@link defineConfigSection}). */
export interface ChatmeshConfig {
  /** @default 'embedded' */
  readonly mode: RunMode;
  /** @default '127.0.0.1' */
  readonly httpHost: string;
  /** @default 8080 */
  readonly httpPort: number;
  /** @default 'info' */
  readonly logLevel: LogLevel;
  /** Required in stack mode. @default [] */
  readonly kafkaBrokers: readonly string[];
  /** Prefix of every Kafka topic and consumer group (`<namespace>.<name>`); empty for none. @default '' */
  readonly namespace: string;
  /** Required in stack mode. @default undefined */
  readonly schemaRegistryUrl: string | undefined;
  /** Required in stack mode. @default [] */
  readonly cassandraContactPoints: readonly string[];
  /** @default 'datacenter1' */
  readonly cassandraLocalDc: string;
  /** @default 'chatmesh' */
  readonly cassandraKeyspace: string;
  /** Required in stack mode. @default undefined */
  readonly redisUrl: string | undefined;
  /** @default 'gateway-0' */
  readonly gatewayId: string;
  /** @default all six, in {@link SERVICE_NAMES} order */
  readonly services: readonly ServiceName[];
  /** @default 15000 */
  readonly shutdownTimeoutMs: number;
}

/**
 * The table of base variables: the single source of the schema, the defaults and `docs/configuration.md`.
 */
export const CONFIG_VARIABLES: { readonly [K in keyof ChatmeshConfig]: ConfigVariable<ChatmeshConfig[K]> } = {
  mode: defineVariable({
    env: 'CHATMESH_MODE',
    description:
      '`embedded`: in-process bus and stores, nothing to install, NOT durable. `stack`: real Kafka, schema registry, Cassandra and Redis (their endpoints are then required).',
    schema: parsers.oneOf(['embedded', 'stack']),
    noun: 'mode',
    expected: 'one of embedded, stack',
    default: CONFIG_DEFAULTS.mode as RunMode,
  }),
  httpHost: defineVariable({
    env: 'CHATMESH_HTTP_HOST',
    description: 'Interface the ops server (and later the gateway) binds to. Containers set `0.0.0.0`.',
    schema: parsers.host(),
    noun: 'host',
    expected: 'a host name or IP address',
    default: CONFIG_DEFAULTS.httpHost,
  }),
  httpPort: defineVariable({
    env: 'CHATMESH_HTTP_PORT',
    description:
      'Port of the ops server: `/health`, `/ready`, `/metrics`. `0` lets the OS pick a free port (tests); the chosen URL is logged.',
    schema: parsers.port(),
    noun: 'port',
    expected: 'an integer 0-65535',
    default: CONFIG_DEFAULTS.httpPort,
  }),
  logLevel: defineVariable({
    env: 'CHATMESH_LOG_LEVEL',
    description: 'Minimum level of the JSON logs.',
    schema: parsers.oneOf(LOG_LEVELS),
    noun: 'log level',
    expected: `one of ${LOG_LEVELS.join(', ')}`,
    default: CONFIG_DEFAULTS.logLevel as LogLevel,
  }),
  kafkaBrokers: defineVariable({
    env: 'KAFKA_BROKERS',
    description: 'Kafka bootstrap brokers. Unused in embedded mode.',
    schema: parsers.hostPortList(),
    noun: 'broker list',
    expected: 'a comma-separated list of host:port, e.g. 127.0.0.1:9092',
    default: CONFIG_DEFAULTS.kafkaBrokers,
    requiredInStack: true,
  }),
  namespace: defineVariable({
    env: 'CHATMESH_NAMESPACE',
    description:
      'Namespace of this stack on a shared Kafka: every topic and consumer group is named `<namespace>.<name>` (`bench-1.chat.events`, group `bench-1.chatmesh.ingest`), so several stacks, benchmarks and test runs share one broker without colliding. Services, metrics and dead-letter envelopes keep the plain names (kafkajs logs and bus errors show the full ones); schema registry subjects are not namespaced (the schemas are shared). Empty: no prefix. Unused in embedded mode. Give `npm run dlq` the same value.',
    schema: parsers.namespace(),
    noun: 'namespace',
    expected: '1-64 letters, digits, "_" or "-" (no dots), or empty',
    default: CONFIG_DEFAULTS.namespace,
  }),
  schemaRegistryUrl: defineOptionalVariable({
    env: 'SCHEMA_REGISTRY_URL',
    description: 'Confluent-compatible schema registry. Unused in embedded mode (schemas come from `schemas/`).',
    schema: parsers.url(['http', 'https']),
    noun: 'URL',
    expected: 'an http(s) URL, e.g. http://127.0.0.1:8081',
    requiredInStack: true,
    secret: true,
  }),
  cassandraContactPoints: defineVariable({
    env: 'CASSANDRA_CONTACT_POINTS',
    description: 'Cassandra contact points. Unused in embedded mode.',
    schema: parsers.hostPortList(),
    noun: 'contact point list',
    expected: 'a comma-separated list of host:port, e.g. 127.0.0.1:9042',
    default: CONFIG_DEFAULTS.cassandraContactPoints,
    requiredInStack: true,
  }),
  cassandraLocalDc: defineVariable({
    env: 'CASSANDRA_LOCAL_DC',
    description: "Cassandra's local data centre, for DC-aware load balancing.",
    schema: parsers.identifier(),
    noun: 'data centre name',
    expected: 'letters, digits, ".", "_" or "-"',
    default: CONFIG_DEFAULTS.cassandraLocalDc,
  }),
  cassandraKeyspace: defineVariable({
    env: 'CASSANDRA_KEYSPACE',
    description: 'Cassandra keyspace holding every chatmesh table.',
    schema: parsers.cqlIdentifier(),
    noun: 'keyspace name',
    expected: 'a letter then up to 47 letters, digits or "_"',
    default: CONFIG_DEFAULTS.cassandraKeyspace,
  }),
  redisUrl: defineOptionalVariable({
    env: 'REDIS_URL',
    description: 'Redis for presence (connection registry, last seen). Unused in embedded mode.',
    schema: parsers.url(['redis', 'rediss']),
    noun: 'URL',
    expected: 'a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
    requiredInStack: true,
    secret: true,
  }),
  gatewayId: defineVariable({
    env: 'CHATMESH_GATEWAY_ID',
    description:
      "This gateway's stable id (the StatefulSet pod name in Kubernetes); its delivery topic is `gateway.<id>.deliveries`.",
    schema: parsers.topicPart(),
    noun: 'gateway id',
    expected: '1-100 letters, digits, "_" or "-" (it becomes part of a topic name, so no dots)',
    default: CONFIG_DEFAULTS.gatewayId,
  }),
  services: defineVariable({
    env: 'CHATMESH_SERVICES',
    description:
      'Which services to run: in embedded mode, in this process; with `npm run stack`, which processes to spawn. A comma-separated list, or `all`.',
    schema: parsers.subsetOf(SERVICE_NAMES),
    noun: 'service list',
    expected: `\`all\` or distinct names out of ${SERVICE_NAMES.join(', ')}, comma-separated`,
    default: SERVICE_NAMES as readonly ServiceName[],
  }),
  shutdownTimeoutMs: defineVariable({
    env: 'CHATMESH_SHUTDOWN_TIMEOUT_MS',
    description:
      "Milliseconds a graceful stop (SIGTERM) may take before the process is forced to exit. Keep it below the pod's `terminationGracePeriodSeconds`.",
    schema: parsers.integer(100, 600_000),
    noun: 'duration',
    expected: 'an integer number of milliseconds, 100-600000',
    default: CONFIG_DEFAULTS.shutdownTimeoutMs,
  }),
};
