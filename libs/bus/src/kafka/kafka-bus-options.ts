/**
 * Options of the Kafka bus: raw (as callers write them) → with defaults → validated. The defaults favour fast
 * tests and prompt rebalances; {@link KAFKA_BUS_PRODUCTION_VALUES} lists what production should run with.
 */
import { BusError } from '../errors.js';
import type { BusInstrumentation } from '../types.js';

/** A log line from kafkajs, handed to the caller's logger (pino in @chatmesh/runtime). */
export interface KafkaBusLogEntry {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly namespace: string;
  readonly message: string;
  readonly extra: Readonly<Record<string, unknown>>;
}

/** Options of {@link createKafkaBus}. */
export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** @default 'chatmesh' */
  readonly clientId?: string;
  /** Receives kafkajs's log lines. Without it kafkajs logs errors to the console. */
  readonly logger?: (entry: KafkaBusLogEntry) => void;
  /** Lowest level forwarded to `logger`. @default 'warn' */
  readonly logLevel?: KafkaBusLogEntry['level'] | 'nothing';
  readonly instrumentation?: BusInstrumentation;
  /** Replication factor of created topics. @default min(3, brokers in the cluster) */
  readonly replicationFactor?: number;
  /** TCP connect timeout. @default 3000 (production: 3000) */
  readonly connectionTimeoutMs?: number;
  /** Request timeout. @default 30000 (production: 30000) */
  readonly requestTimeoutMs?: number;
  /** kafkajs client retries: first delay. @default 100 (production: 300) */
  readonly retryInitialDelayMs?: number;
  /** kafkajs client retries: cap of one delay. @default 2000 (production: 30000) */
  readonly retryMaxDelayMs?: number;
  /** kafkajs client retries per operation. @default 8 (production: 10) */
  readonly retries?: number;
  /** A member silent for this long is removed from its group. @default 10000 (production: 30000) */
  readonly sessionTimeoutMs?: number;
  /** Heartbeat period; must be well below `sessionTimeoutMs`. @default 1000 (production: 3000) */
  readonly heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin. @default 5000 (production: 60000) */
  readonly rebalanceTimeoutMs?: number;
  /** Longest a fetch waits for data; bounds how late a member notices a rebalance. @default 100 (production: 500) */
  readonly maxWaitTimeMs?: number;
  /** How long a produced-to topic's partition count is cached. @default 300000 */
  readonly metadataMaxAgeMs?: number;
}

/** Defaults for tests and development: prompt rebalances and quick retries. */
export const KAFKA_BUS_DEFAULTS = Object.freeze({
  clientId: 'chatmesh',
  logLevel: 'warn' as const,
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
  retryInitialDelayMs: 100,
  retryMaxDelayMs: 2_000,
  retries: 8,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  rebalanceTimeoutMs: 5_000,
  maxWaitTimeMs: 100,
  metadataMaxAgeMs: 300_000,
});

/** What production should set (documented in the README; the runtime's config passes them). */
export const KAFKA_BUS_PRODUCTION_VALUES = Object.freeze({
  retryInitialDelayMs: 300,
  retryMaxDelayMs: 30_000,
  retries: 10,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxWaitTimeMs: 500,
  replicationFactor: 3,
});

export type CompiledKafkaBusOptions = Readonly<
  Required<Omit<KafkaBusOptions, 'logger' | 'instrumentation' | 'replicationFactor'>> &
    Pick<KafkaBusOptions, 'logger' | 'instrumentation' | 'replicationFactor'>
>;

/**
 * Applies defaults and rejects contradictory settings (kafkajs's own heartbeat vs session check, earlier).
 * @throws BusError `CM_ERR_BUS_INVALID_OPTIONS` listing every problem with its value.
 */
export function compileKafkaBusOptions(options: KafkaBusOptions): CompiledKafkaBusOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const compiled = { ...KAFKA_BUS_DEFAULTS, ...defined } as CompiledKafkaBusOptions;
  const problems: string[] = [];
  if (!Array.isArray(compiled.brokers) || compiled.brokers.length === 0)
    problems.push('brokers must list at least one host:port (set KAFKA_BROKERS)');
  if (compiled.heartbeatIntervalMs * 3 > compiled.sessionTimeoutMs) {
    problems.push(
      `heartbeatIntervalMs (${compiled.heartbeatIntervalMs}) must be at most a third of sessionTimeoutMs (${compiled.sessionTimeoutMs})`,
    );
  }
  if (
    compiled.replicationFactor !== undefined &&
    !(Number.isInteger(compiled.replicationFactor) && compiled.replicationFactor >= 1)
  ) {
    problems.push(`replicationFactor must be an integer >= 1 (got ${compiled.replicationFactor})`);
  }
  for (const key of [
    'connectionTimeoutMs',
    'requestTimeoutMs',
    'sessionTimeoutMs',
    'heartbeatIntervalMs',
    'rebalanceTimeoutMs',
    'maxWaitTimeMs',
  ] as const) {
    if (!(compiled[key] > 0)) problems.push(`${key} must be > 0 (got ${compiled[key]})`);
  }
  if (problems.length > 0)
    throw new BusError('CM_ERR_BUS_INVALID_OPTIONS', `Invalid Kafka bus options: ${problems.join('; ')}`, {
      context: { problems },
    });
  return Object.freeze(compiled);
}
