import type { Bus } from '@chatmesh/bus';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import type { SchemaCodec } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';

/** The services of the core message path the suite starts, kills and restarts. */
export type CoreService = 'ingest' | 'fan-out';

/** The consumer groups of each core service and the topic each reads (what a replay resets). */
export const CORE_GROUPS: ReadonlyArray<{
  readonly service: CoreService;
  readonly groupId: string;
  readonly topic: string;
}> = [
  { service: 'ingest', groupId: 'chatmesh.ingest', topic: 'chat.commands' },
  { service: 'fan-out', groupId: 'chatmesh.fan-out', topic: 'chat.events' },
  { service: 'fan-out', groupId: 'chatmesh.inbox-sequencer', topic: 'user.inbox' },
];

/**
 * One way of running ingest and fan-out for the guarantee suite: embedded (one process, memory bus and
 * store) or stack (real Kafka, registry, Cassandra, Redis, each service its own child process). The suite
 * sees only this, so it is written once.
 */
export interface SystemHarness {
  readonly mode: 'embedded' | 'stack';
  /** The bus the services use; the suite produces, reads dead letters and moves group offsets with it. */
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  /** The store the services write; the suite reads final state from it. */
  readonly store: ChatStore;
  /** The presence registry fan-out routes by; the suite registers its devices there. */
  readonly presence: PresenceRegistry;
  /** Starts a stopped or killed service and waits until it is ready (has joined its groups). */
  start(service: CoreService): Promise<void>;
  /** Kills the service without any cleanup (SIGKILL; embedded: its group members crash), mid-record. */
  kill(service: CoreService): Promise<void>;
  /** Stops the service gracefully: it finishes, commits and leaves its groups (required before moving offsets). */
  stop(service: CoreService): Promise<void>;
  /** The service's health details (its counters), from its `/health` or the group's report. */
  health(service: CoreService): Promise<Record<string, unknown>>;
  /** Stops everything this harness started. */
  close(): Promise<void>;
}
