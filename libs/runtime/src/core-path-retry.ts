import type { RetryPolicyOptions } from '@chatmesh/errors';

/**
 * The retry policy of the message path's consumers (ingest, fan-out, the inbox sequencer, receipts, presence, push).
 * A record whose handler keeps failing is parked in the topic's dead-letter twin after 20 attempts: 19 waits with full
 * jitter under ceilings of 0.1 s doubling to 10 s, about 66 s in all on average and at most ~133 s, so a poison record
 * does not hold its partition for long. An **outage** of a dependency (Cassandra, Kafka, the registry, Redis:
 * `isOutage`) is different: the record is fine and must wait for the store to come back, not be parked (its inbox
 * entries would be missing until an operator replays them), so outages are waited out for up to 30 minutes, retried
 * every 0-10 s, with the partition held. Undecodable records are still parked at once; a parked command is answered
 * (ingest's `lastWords`), so its device retries.
 */
export const CORE_PATH_RETRY: Readonly<RetryPolicyOptions> = Object.freeze({
  maxAttempts: 20,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  outageBudgetMs: 30 * 60_000,
});
