import { defineCodes } from './types.js';

/** Codes of @chatmesh/client, the typed SDK: raised to the application, never sent on the wire. */
export const CLIENT_CODES = defineCodes({
  CM_ERR_CLIENT_INVALID_OPTIONS: {
    message: 'The chat client options are missing or contradictory.',
    retriable: false,
    fix: 'Read the listed problems: `url` is a ws://, wss://, http:// or https:// URL, `tokenProvider` a function, durations positive.',
  },
  CM_ERR_CLIENT_NO_WEBSOCKET: {
    message: 'No WebSocket implementation is available (no global WebSocket and no `webSocketFactory`).',
    retriable: false,
    fix: 'In Node, pass `webSocketFactory: (url) => new WebSocket(url)` with `WebSocket` from the `ws` package.',
  },
  CM_ERR_CLIENT_TOKEN_FAILED: {
    message: 'The token provider threw or returned no token; the client retries with backoff.',
    retriable: true,
    fix: 'Check the `tokenProvider` (identity provider reachable, or `POST /v1/dev/token` in embedded mode).',
  },
  CM_ERR_CLIENT_COMMAND_REJECTED: {
    message: 'The server refused a command (send, createChat...) for good; nothing was stored.',
    retriable: false,
    fix: "The error's `rejectCode` is the server's reason (CM_ERR_CHAT_*, CM_ERR_PROTOCOL_*); see that code.",
  },
  CM_ERR_CLIENT_RETRIES_EXHAUSTED: {
    message: 'The server kept refusing a command with a retriable reason until the attempt limit.',
    retriable: true,
    fix: 'The cause carries the last reason (often a rate limit); slow down or raise `maxCommandAttempts`.',
  },
  CM_ERR_CLIENT_OUTBOX_EXPIRED: {
    message:
      'A command waited in the outbox longer than `outboxMaxAgeMs` (at most 7 days, less than the server remembers sends) and was dropped unsent.',
    retriable: false,
    fix: 'Show the message as not sent and let the user send it again (a new send, with a new client message id).',
  },
  CM_ERR_CLIENT_RESYNC_FAILED: {
    message: 'Catching up from the chat history after a `syncGap` failed; the client reconnects and tries again.',
    retriable: true,
    fix: 'The cause carries the HTTP failure; check that the gateway HTTP API is reachable (the `fetch` option).',
  },
  CM_ERR_CLIENT_CLOSED: {
    message: 'The client was closed (by `close()` or a final close code) before the command was answered.',
    retriable: true,
    fix: 'Commands stay in the outbox storage; a new client with the same storage sends them again.',
  },
  CM_ERR_CLIENT_CONNECTION_ENDED: {
    message:
      'The server ended the connection with a code that forbids reconnecting (4010 replaced, 4011 device removed, 1000).',
    retriable: false,
    fix: 'Another connection of the same device replaced this one, or the device was removed; create a new client deliberately.',
  },
  CM_ERR_CLIENT_INVALID_FRAME: {
    message: 'The server sent a frame that is not valid protocol v2 JSON; it was ignored.',
    retriable: false,
    fix: 'Check that the SDK and the gateway speak the same protocol version (docs/protocol.md).',
  },
  CM_ERR_CLIENT_SEQUENCE_GAP: {
    message: "A chat's sequence numbers jumped and a sync did not fill the gap in time; the held frames were released.",
    retriable: false,
    fix: 'Usually harmless (events the device may not see); if frequent, check the gateway replay and `gapTimeoutMs`.',
  },
  CM_ERR_CLIENT_SERVER_ERROR: {
    message: 'The server answered a frame with an `error` frame.',
    retriable: false,
    fix: "The error's `serverCode` names the reason (CM_ERR_PROTOCOL_*); see that code.",
  },
  CM_ERR_CLIENT_HTTP_FAILED: {
    message: "A call to the gateway's HTTP API (settings, devices) failed or was refused.",
    retriable: false,
    fix: "The error's `serverCode` names the server's reason (CM_ERR_AUTH_*, CM_ERR_DEVICE_UNKNOWN, CM_ERR_GATEWAY_BAD_REQUEST) and `status` the HTTP status; without them the gateway could not be reached.",
  },
  CM_ERR_CLIENT_PAGE_BUILD_FAILED: {
    message: 'The chat page (@chatmesh/web-chat) could not be bundled with esbuild.',
    retriable: false,
    fix: 'Read the esbuild messages in the error; check that `esbuild` loads (`node -e "require(\'esbuild\')"`) and that src/page compiles.',
  },
  CM_ERR_CLIENT_E2E_DECRYPT_FAILED: {
    message:
      'An end-to-end encrypted message or attachment could not be decrypted (no session, a changed blob, a wrong key).',
    retriable: false,
    fix: "The message names the reason; a PreKey message for a device whose prekeys were lost cannot be read: the sender's next message after a session reset can.",
  },
  CM_ERR_CLIENT_E2E_SEND_FAILED: {
    message: 'An end-to-end encrypted send kept being refused for device-list mismatches, or a key API call failed.',
    retriable: true,
    fix: "The error's context names the devices or the HTTP answer; fetch GET /v1/keys/:userId and send again with the same clientMessageId.",
  },
});
