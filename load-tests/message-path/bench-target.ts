import type { Bus } from '@chatmesh/bus';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import type { SchemaCodec } from '@chatmesh/schemas';

/** Ingest's and fan-out's counters, from their health details. */
export interface ServiceCounters {
  /** Ingest: commands accepted (not duplicates), duplicates, rejected. */
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  /** Fan-out: chat events expanded. */
  readonly events: number;
  /** Fan-out: inbox entries sequenced, replays included. */
  readonly inboxEntries: number;
  /** Fan-out: entries already in the inbox (not stored again). */
  readonly replays: number;
  readonly delivered: number;
  readonly pushed: number;
}

/** Ingest and fan-out running somewhere, with the clients the driver needs to reach them. */
export interface BenchTarget {
  /** The bus the services consume: the same in-process bus (embedded) or a Kafka client (stack). */
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  /** Where `--online all` registers the benchmark's devices. */
  readonly presence: PresenceRegistry;
  /** Endpoints, keyspace, service settings: stored with the result. */
  readonly environment: Readonly<Record<string, unknown>>;
  /** True once every service reports ready (its consumers joined their groups). */
  isReady(): Promise<boolean>;
  /** CPU seconds (user + system) each service process has used so far; embedded: this whole process. */
  cpuSeconds(): Promise<Record<string, number>>;
  /** Reads the services' counters. */
  counters(): Promise<ServiceCounters>;
  /** Warnings that make the run's figures doubtful (another consumer in a service's group...). */
  checkIsolation(): Promise<string[]>;
  /** Stops the services and closes every client; idempotent. */
  stop(): Promise<void>;
}

/** Counters from the health details of `ingest` and `fan-out` (missing fields read as 0). */
export function countersFromHealth(details: {
  ingest?: Readonly<Record<string, unknown>> | undefined;
  fanOut?: Readonly<Record<string, unknown>> | undefined;
}): ServiceCounters {
  const num = (source: Readonly<Record<string, unknown>> | undefined, key: string): number => {
    const value = source?.[key];
    return typeof value === 'number' ? value : 0;
  };
  return {
    accepted: num(details.ingest, 'accepted'),
    duplicates: num(details.ingest, 'duplicates'),
    rejected: num(details.ingest, 'rejected'),
    events: num(details.fanOut, 'events'),
    inboxEntries: num(details.fanOut, 'inboxEntries'),
    replays: num(details.fanOut, 'replays'),
    delivered: num(details.fanOut, 'delivered'),
    pushed: num(details.fanOut, 'pushed'),
  };
}
