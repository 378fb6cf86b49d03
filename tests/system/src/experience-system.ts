import type { Bus } from '@chatmesh/bus';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import type { SchemaCodec } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import type { ClaimsSigner } from './test-jwks.js';

/** Timings the experience suite runs with (short, so FAILED and ghost presence show within a test). */
export const EXPERIENCE_TIMINGS = Object.freeze({
  /** A message undelivered this long becomes FAILED. */
  failAfterMs: 4_000,
  deadlineBucketMs: 1_000,
  receiptsSweepIntervalMs: 500,
  /** A gateway that stops renewing its lease loses its devices after this long. */
  leaseTtlMs: 3_000,
  /** Presence re-checks users announced online this often (a killed gateway's users go offline by it). */
  presenceSweepIntervalMs: 1_000,
});

/** The environment every service of the experience suite gets. */
export const EXPERIENCE_ENV: Readonly<Record<string, string>> = Object.freeze({
  CHATMESH_RECEIPTS_FAIL_AFTER_MS: String(EXPERIENCE_TIMINGS.failAfterMs),
  CHATMESH_RECEIPTS_DEADLINE_BUCKET_MS: String(EXPERIENCE_TIMINGS.deadlineBucketMs),
  CHATMESH_RECEIPTS_SWEEP_INTERVAL_MS: String(EXPERIENCE_TIMINGS.receiptsSweepIntervalMs),
  CHATMESH_GATEWAY_LEASE_TTL_MS: String(EXPERIENCE_TIMINGS.leaseTtlMs),
  CHATMESH_PRESENCE_SWEEP_INTERVAL_MS: String(EXPERIENCE_TIMINGS.presenceSweepIntervalMs),
  CHATMESH_MAX_DEVICES_PER_USER: '3',
});

/**
 * All six services with real gateways, for the issue-7 experience suite (ticks, FAILED, presence,
 * typing, multi-device): embedded (one process, one gateway) or stack (every service its own process on
 * Kafka, the registry, Cassandra and Redis, with two gateways, one of which can be killed).
 */
export interface ExperienceSystem {
  readonly mode: 'embedded' | 'stack';
  /** `http://host:port` of each gateway; stack mode has two. */
  readonly gatewayUrls: readonly string[];
  /** A bearer token for a device of a user. */
  token(userId: string, deviceId: string): Promise<string>;
  /** Signs hand-built claims as the gateways' token issuer would, or (`forged`) with a key they do not trust. */
  readonly signClaims: ClaimsSigner;
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  readonly store: ChatStore;
  readonly presence: PresenceRegistry;
  /** SIGKILLs gateway `index` (stack only): no OFFLINE events, no lease release. */
  killGateway?(index: number): Promise<void>;
  close(): Promise<void>;
}
