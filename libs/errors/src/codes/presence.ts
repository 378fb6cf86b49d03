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

  CM_ERR_PRESENCE_NOT_A_MEMBER: {
    message:
      'A typing indicator named a chat the sender is not a member of (or that does not exist); it was not relayed.',
    retriable: false,
    fix: 'Send typing only for chats the user belongs to; the same code answers for unknown chats so nobody learns which chats exist.',
  },
  CM_ERR_DEVICE_LIMIT: {
    message: 'The user already has the maximum number of devices, so a new device cannot be added.',
    retriable: false,
    fix: 'Remove a device (`DELETE /v1/devices/<deviceId>`) first, or raise CHATMESH_MAX_DEVICES_PER_USER.',
  },
  CM_ERR_DEVICE_REMOVED: {
    message:
      'The device was removed from the account; its sessions end and it cannot connect again under that device id.',
    retriable: false,
    fix: 'Link the device again under a new device id (sign in again).',
  },
  CM_ERR_DEVICE_UNKNOWN: {
    message: "The device named in the request is not one of the user's devices.",
    retriable: false,
    fix: 'List the devices with `GET /v1/devices` and use one of their ids.',
  },
});
