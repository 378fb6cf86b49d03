import { defineCodes } from './types.js';

/** Codes of the client protocol: sent in `error` frames, or as the reason of a refused upgrade. */
export const PROTOCOL_CODES = defineCodes({
  CM_ERR_PROTOCOL_MALFORMED: {
    message: 'The frame is not one JSON object.',
    retriable: false,
    fix: 'Send one JSON object per text frame (docs/protocol.md).',
  },
  CM_ERR_PROTOCOL_UNKNOWN_TYPE: {
    message: 'The frame has an unknown `type`.',
    retriable: false,
    fix: 'Use one of the client frame types in docs/protocol.md; check the SDK and server versions match.',
  },
  CM_ERR_PROTOCOL_INVALID_FRAME: {
    message: 'The frame does not match its schema (a missing, extra or ill-typed field).',
    retriable: false,
    fix: 'The message names the field; see the frame in docs/protocol.md.',
  },
  CM_ERR_PROTOCOL_FRAME_TOO_LARGE: {
    message: 'The frame exceeds the size limit.',
    retriable: false,
    fix: 'Keep frames under the gateway limit (CHATMESH_GATEWAY_MAX_FRAME_BYTES); send large content as attachments.',
  },
  CM_ERR_PROTOCOL_RATE_LIMITED: {
    message: 'The connection or the user is sending frames faster than allowed.',
    retriable: true,
    fix: 'Slow down and retry after a moment; the SDK backs off by itself.',
  },
  CM_ERR_AUTH_MISSING_TOKEN: {
    message: 'The WebSocket upgrade or HTTP request carried no bearer token.',
    retriable: false,
    fix: 'Pass the JWT as `Authorization: Bearer <jwt>` or the `access_token` query parameter (browsers).',
  },
  CM_ERR_AUTH_INVALID_TOKEN: {
    message: 'The token is malformed, forged, signed with an unknown key or with a refused algorithm (`none`).',
    retriable: false,
    fix: 'Get a token from your identity provider (or the development token endpoint in embedded mode).',
  },
  CM_ERR_AUTH_EXPIRED_TOKEN: {
    message: 'The token has expired or is not valid yet (exp / nbf).',
    retriable: true,
    fix: 'Refresh the token and reconnect; the SDK asks its token provider again.',
  },
  CM_ERR_AUTH_WRONG_AUDIENCE: {
    message: 'The token was issued by another issuer or for another audience.',
    retriable: false,
    fix: 'Check CHATMESH_AUTH_ISSUER and CHATMESH_AUTH_AUDIENCE against the token claims iss and aud.',
  },
});
