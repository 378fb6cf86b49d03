import { defineCodes } from './types.js';

/** Codes shared by every package: retries, shutdown, invariants. */
export const COMMON_CODES = defineCodes({
  CM_ERR_RETRY_EXHAUSTED: {
    message: 'An operation failed after every retry the policy allowed.',
    retriable: false,
    fix: 'Read `cause` for the last failure; raise the retry policy limits only if the failure is transient.',
  },
  CM_ERR_RETRY_POLICY_INVALID: {
    message: 'A retry policy has contradictory or out-of-range settings.',
    retriable: false,
    fix: 'Use maxAttempts >= 1, initialDelayMs >= 0, maxDelayMs >= initialDelayMs and multiplier >= 1.',
  },
  CM_ERR_COMMON_SHUTTING_DOWN: {
    message: 'The component is stopping and accepts no new work.',
    retriable: true,
    fix: 'Retry against another instance; this one is draining.',
  },
  CM_ERR_COMMON_TIMEOUT: {
    message: 'An operation did not complete within its time limit.',
    retriable: true,
    fix: 'Check that the dependency is reachable and healthy; raise the timeout only if it is merely slow.',
  },
  CM_ERR_COMMON_INVALID_ARGUMENT: {
    message: 'A shared helper was built with an argument outside its range.',
    retriable: false,
    fix: 'Read `context` for the argument and its value; pass what the helper documents (e.g. a positive bound).',
  },
  CM_ERR_COMMON_INTERNAL: {
    message: 'An invariant was broken inside chatmesh.',
    retriable: false,
    fix: 'This is a bug: report it with the log line, which carries the context.',
  },
});
