/**
 * Every default of the base configuration in one place. With none of the variables
 * set, these run embedded mode on a laptop: in-process bus and stores, ops server on 127.0.0.1:8080.
 */
export const CONFIG_DEFAULTS: Readonly<{
  mode: 'embedded';
  httpHost: string;
  httpPort: number;
  logLevel: 'info';
  kafkaBrokers: readonly string[];
  namespace: string;
  cassandraContactPoints: readonly string[];
  cassandraLocalDc: string;
  cassandraKeyspace: string;
  gatewayId: string;
  shutdownTimeoutMs: number;
}> = Object.freeze({
  /** How the services run. @default 'embedded' */
  mode: 'embedded',
  /** Interface the HTTP servers bind to; containers set `0.0.0.0`. @default '127.0.0.1' */
  httpHost: '127.0.0.1',
  /** TCP port of the ops server (health, readiness, metrics); 0 picks a free one. @default 8080 */
  httpPort: 8080,
  /** pino level. @default 'info' */
  logLevel: 'info',
  /** Kafka bootstrap brokers. Empty: embedded mode needs none; stack mode requires them. @default [] */
  kafkaBrokers: Object.freeze([]) as readonly string[],
  /** Prefix of Kafka topics and consumer groups (`<namespace>.<name>`); empty: none, the names as they are. @default '' */
  namespace: '',
  /** Cassandra contact points. Empty: embedded mode needs none; stack mode requires them. @default [] */
  cassandraContactPoints: Object.freeze([]) as readonly string[],
  /** Cassandra local data centre (token-aware, DC-aware load balancing). @default 'datacenter1' */
  cassandraLocalDc: 'datacenter1',
  /** Cassandra keyspace. @default 'chatmesh' */
  cassandraKeyspace: 'chatmesh',
  /** This gateway's stable id; its delivery topic is `gateway.<id>.deliveries`. @default 'gateway-0' */
  gatewayId: 'gateway-0',
  /** Time allowed for a graceful stop before the process is forced to exit, in milliseconds. @default 15000 */
  shutdownTimeoutMs: 15_000,
});
