import type { RetryPolicyOptions } from '@chatmesh/errors';

/**
 * The retry policy of the message path's consumers (ingest, fan-out, the inbox sequencer). Store and
 * broker faults (a Cassandra restart, a leader election) must not send one of their records to the
 * dead-letter topic, where its inbox entries would be missing until replayed, so they retry for about
 * three minutes before parking a record. Undecodable records are still parked at once.
 */
export const CORE_PATH_RETRY: Readonly<RetryPolicyOptions> = Object.freeze({
  maxAttempts: 20,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
});
