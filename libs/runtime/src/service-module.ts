import type { Bus } from '@chatmesh/bus';
import type { LoadedConfig, ConfigSection } from '@chatmesh/config';
import type { Logger } from '@chatmesh/logging';
import type { ChatmeshMetrics, MetricTable, Registry } from '@chatmesh/metrics';
import type { SchemaCodec } from '@chatmesh/schemas';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import type { ChatStore } from '@chatmesh/store';
import type { TypedTopics } from './typed-topics.js';

/** What a service says about itself on `/ready` and `/`. */
export interface HealthReport {
  /** `starting` until it can do its work, `ready` while it does, `draining` while stopping, `failed` when it cannot recover. */
  readonly status: 'starting' | 'ready' | 'draining' | 'stopped' | 'failed';
  /** True only in `ready`: the ops server's `/ready` answers 200 only when every service says so. */
  readonly ready: boolean;
  /** Anything useful to an operator (assigned partitions, last error code...). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Everything a service gets from the process that runs it; services build nothing themselves. */
export interface ServiceDeps {
  /** The process's configuration, frozen; services read their own section under `config.sections`. */
  readonly config: LoadedConfig<Record<string, ConfigSection>>;
  /** Bound to `component: <service name>`. */
  readonly logger: Logger;
  readonly registry: Registry;
  /** Every metric of the table, on {@link registry}. */
  readonly metrics: ChatmeshMetrics;
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  /** Chats, logs, inboxes and cursors: Cassandra in stack mode, in-process in embedded mode. */
  readonly store: ChatStore;
  /** Which gateways hold which devices, and last seen: Redis in stack mode, in-process in embedded mode. */
  readonly presence: PresenceRegistry;
  /** Avro-typed producing and consuming over {@link bus} and {@link codec}. */
  readonly typed: TypedTopics;
}

/** A running service. */
export interface ServiceHandle {
  readonly name: string;
  /**
   * Graceful: stop consuming, let in-flight records finish, commit, close what it opened. Never
   * closes the shared bus (the process does that after every service has stopped).
   */
  stop(): Promise<void>;
  health(): HealthReport;
}

/** A service as the launcher and its own `main.ts` see it. */
export interface ServiceModule {
  /** One of the six names (`ingest`, `fan-out`...). */
  readonly name: string;
  /** One line: what it does. */
  readonly description: string;
  /** Topics it consumes (documentation and `GET /`); `<id>` marks a per-instance part. */
  readonly consumes: readonly string[];
  /** Topics it produces to. */
  readonly produces: readonly string[];
  /**
   * Its own configuration sections, by key (`{ gateway: GATEWAY_CONFIG }`). Whatever runs the service
   * loads them (see {@link collectConfigSections}); the service reads them with `getConfigSection`.
   * @default {}
   */
  readonly config?: Readonly<Record<string, ConfigSection>>;
  /**
   * Its own metric table (`services/<name>/src/metrics.ts`), beyond the shared {@link ChatmeshMetrics}.
   * Declared here so `docs/metrics.md` lists it; the service creates it on `deps.registry` in `start`.
   * @default {}
   */
  readonly metrics?: MetricTable;
  /** Starts it; resolves once it is running (not necessarily ready). @throws when it cannot start */
  start(deps: ServiceDeps): Promise<ServiceHandle>;
}
