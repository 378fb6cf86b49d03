import { defineCodes } from './types.js';

/** Codes of the delivery gateway (start-up, HTTP API) and of the shared rate limiter. */
export const GATEWAY_CODES = defineCodes({
  CM_ERR_GATEWAY_NATIVE_UWS_MISSING: {
    message: 'uWebSockets.js fell back to its slow JavaScript implementation instead of the native binary.',
    retriable: false,
    fix: 'Run the gateway on a Node version one installed uWebSockets.js build ships a binary for (Node 20, 22 or 24; see docs/infrastructure.md, "uWebSockets.js"), and unset UWS_USE_FALLBACK.',
  },
  CM_ERR_GATEWAY_UWS_UNSUPPORTED: {
    message: 'No installed uWebSockets.js build loads on this platform, Node ABI and glibc.',
    retriable: false,
    fix: 'The message lists each build tried and why it does not fit. Node 20 on glibc 2.27+ uses uWebSockets.js (@trufflesuite/uws-js-unofficial 20.30); Node 22 or 24 needs @btc-vision/uwebsockets.js 20.57 installed (an optional dependency of the gateway) and glibc 2.38+ (Debian 13 trixie, Ubuntu 24.04; the node:24-trixie-slim image).',
  },
  CM_ERR_GATEWAY_LISTEN_FAILED: {
    message: 'The gateway could not listen on its host and port.',
    retriable: true,
    fix: 'Free the port or change CHATMESH_GATEWAY_HOST / CHATMESH_GATEWAY_PORT (0 lets the OS pick one).',
  },
  CM_ERR_GATEWAY_AUTH_CONFIG: {
    message: 'The gateway has no way to verify tokens in this mode.',
    retriable: false,
    fix: 'Stack mode needs CHATMESH_AUTH_JWKS_URL; embedded mode signs with CHATMESH_AUTH_DEV_SECRET (at least 32 characters).',
  },
  CM_ERR_GATEWAY_BAD_REQUEST: {
    message: 'The HTTP request is malformed (bad JSON body, bad query parameter, bad percent-encoding in the path).',
    retriable: false,
    fix: 'The message names the bad part; see the gateway README for the request shapes.',
  },
  CM_ERR_GATEWAY_BODY_TOO_LARGE: {
    message: 'The HTTP request body is larger than the route accepts (HTTP 413); the gateway closes the connection.',
    retriable: false,
    fix: 'Send a smaller body: the routes take small JSON objects (a few hundred bytes).',
  },
  CM_ERR_GATEWAY_DEV_TOKENS_EXPOSED: {
    message:
      'Development tokens (POST /v1/dev/token) would be served on a non-loopback address: anyone who reaches the gateway could act as any user.',
    retriable: false,
    fix: 'Bind the gateway to loopback (CHATMESH_GATEWAY_HOST=127.0.0.1), or set CHATMESH_GATEWAY_DEV_TOKENS=on if you really want development tokens on a shared network (never in production), or off to serve none.',
  },
  CM_ERR_GATEWAY_ROUTE_NOT_FOUND: {
    message: 'No such HTTP route on the gateway (or not in this mode).',
    retriable: false,
    fix: 'See the gateway README for its routes; POST /v1/dev/token and GET / exist in embedded mode only.',
  },
  CM_ERR_GATEWAY_LEASE_LOST: {
    message: 'Another instance took over this gateway id; this instance closes its connections.',
    retriable: false,
    fix: 'Two processes run with the same CHATMESH_GATEWAY_ID: give each gateway its own id.',
  },
  CM_ERR_RATE_LIMIT_INVALID_ARGUMENT: {
    message: 'A token bucket was configured or asked with an invalid value (non-positive rate or burst, empty key).',
    retriable: false,
    fix: 'Use a rate and burst of at least 1 and a non-empty key.',
  },
  CM_ERR_RATE_LIMIT_UNAVAILABLE: {
    message: 'The shared rate limiter (Redis) could not be reached.',
    retriable: true,
    fix: 'Check REDIS_URL and that Redis is up; the gateway lets frames through while it is down (fail open) and logs it.',
  },
});
