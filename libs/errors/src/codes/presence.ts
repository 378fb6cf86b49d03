import { defineCodes } from './types.js';

/** Codes of @chatmesh/presence-registry: the connection registry (user -> devices -> gateway) and last seen. */
export const PRESENCE_CODES = defineCodes({
  CM_ERR_PRESENCE_INVALID_ARGUMENT: {
    message: 'A presence registry call got an empty id, a non-positive TTL or another invalid argument.',
    retriable: false,
    fix: 'Read the listed problems in the message; ids are non-empty strings and `ttlMs` a positive integer.',
  },
  CM_ERR_PRESENCE_INVALID_OPTIONS: {
    message: 'The presence registry options are missing or contradictory.',
    retriable: false,
    fix: 'Pass exactly one of `url` or `redis`, a `keyPrefix` without `{` or `}`, and positive durations.',
  },
  CM_ERR_PRESENCE_UNAVAILABLE: {
    message: 'Redis could not be reached or did not answer in time, so presence is unknown.',
    retriable: true,
    fix: 'Check REDIS_URL and that Redis is up; callers fall back to the inbox path (routing treats the user as offline).',
  },
  CM_ERR_PRESENCE_REDIS_REPLY: {
    message: 'Redis refused a presence command (wrong key type, script error, out of memory).',
    retriable: false,
    fix: 'Read the Redis reply in `cause`; a WRONGTYPE reply means another application writes under the same key prefix.',
  },
  CM_ERR_PRESENCE_CLOSED: {
    message: 'The presence registry is closed and accepts no more calls.',
    retriable: false,
    fix: 'Create a new registry; do not use one after `close()`.',
  },
});
