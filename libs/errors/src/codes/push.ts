import { defineCodes } from './types.js';

/** Codes of the push service: wake-ups through FCM, APNs and Web Push, and the push channel registry. */
export const PUSH_CODES = defineCodes({
  CM_ERR_PUSH_CREDENTIALS_INVALID: {
    message:
      "A push provider's credentials were given but cannot be used (file unreadable, JSON or PEM malformed, a required field missing).",
    retriable: false,
    fix: 'Fix the file or variable the message names (docs/push.md, "Configuration"), or unset every variable of that provider to run with it disabled.',
  },
  CM_ERR_PUSH_PROVIDER_UNAVAILABLE: {
    message:
      'A push provider kept failing for one request (HTTP 429 or 5xx, a timeout or a refused connection) through every retry.',
    retriable: true,
    fix: 'Check the provider status and the base URL settings; the request is on push.requests.dlq and can be replayed with `npm run dlq -- replay`.',
  },
  CM_ERR_PUSH_PROVIDER_REJECTED: {
    message:
      'A push provider refused a request permanently for a reason other than a dead token (authentication, a malformed request, a topic the key may not use).',
    retriable: false,
    fix: "The reason is in the dead letter's message and the `chatmesh_push_failed_total` label: usually the credentials (wrong project, key id or team id) or an APNs topic that is not the app's bundle id.",
  },
  CM_ERR_PUSH_CHANNEL_INVALID: {
    message:
      'A push channel registration lacked a field its provider needs (token, APNs topic or environment, Web Push keys).',
    retriable: false,
    fix: 'Register FCM with `token`; APNs with `token`, `topic` and `environment` (sandbox or production); Web Push with the subscription (`endpoint`, `keys.p256dh`, `keys.auth`).',
  },
  CM_ERR_PUSH_STORE_UNAVAILABLE: {
    message: 'The push channel table could not be read or written.',
    retriable: true,
    fix: 'Check Cassandra; the record is retried and goes to its dead-letter topic if the store stays down.',
  },
});
