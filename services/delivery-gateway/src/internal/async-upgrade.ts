import type { HttpRequest, us_socket_context_t } from 'uWebSockets.js';
import type { PendingResponse } from './http.js';

/** What `res.upgrade` needs from the request; read in the handler, since uWS's HttpRequest dies when it returns. */
export interface UpgradeHandshake {
  readonly key: string;
  readonly protocol: string;
  readonly extensions: string;
  readonly context: us_socket_context_t;
}

export function readHandshake(req: HttpRequest, context: us_socket_context_t): UpgradeHandshake {
  return {
    key: req.getHeader('sec-websocket-key'),
    protocol: req.getHeader('sec-websocket-protocol'),
    extensions: req.getHeader('sec-websocket-extensions'),
    context,
  };
}

/**
 * Completes an upgrade whose handler awaited something first (token, device list). Returns false, and does
 * nothing, when the client went away meanwhile; otherwise uWS writes the 101 and runs `open` before this
 * returns.
 *
 * Deliberately NOT inside `res.cork()`, which uWS's docs ask for after an await. In the uWS build the
 * gateway runs (uWebSockets.js 20.30), `HttpResponse::cork()` reads the response's state *after* its
 * callback returned: when the callback upgraded the socket, uWS reallocated it in place into a smaller
 * WebSocket, and that read lands past the new socket, in whatever the heap put there since (often a
 * buffer malloc'd by the `open` handler). When the stale byte looks like "Connection: close, response
 * done", cork() shuts the just-opened WebSocket down: the client gets 101, then a FIN, no close frame and
 * no `hello`, and `close` runs with 1006 before `res.upgrade` returns (issue 15; upstream
 * uNetworking/uWebSockets#1928, fixed by #1929, which neither build the gateway loads carries: see
 * `native-uws.ts`). Uncorked, uWS writes the 101 in ~25 small writes instead of one and prints a "writes
 * must be made from within a corked callback" warning per upgrade; `async-upgrade.test.ts` fails once the
 * build the gateway loads no longer has the bug, so corking can come back then.
 */
export function upgradeAfterAwait<T>(state: PendingResponse, userData: T, handshake: UpgradeHandshake): boolean {
  if (state.aborted) return false;
  state.res.upgrade(userData, handshake.key, handshake.protocol, handshake.extensions, handshake.context);
  return true;
}
