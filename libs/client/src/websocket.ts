import { ClientError } from './errors.js';

/** The close event fields the SDK reads (browser `CloseEvent` and `ws` both have them). */
export interface WebSocketCloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/**
 * An event handler property, checked like a method (bivariantly): an implementation's handler takes its own, richer
 * event type (`ws`'s `MessageEvent`, the DOM's `MessageEvent` with `this: WebSocket`), which has at least the fields
 * the SDK reads. With a plain function type, `strictFunctionTypes` would refuse both implementations.
 */
export type EventHandlerLike<E> = { handle(event: E): void }['handle'];

/**
 * The part of the WebSocket API the SDK uses: the browser's `WebSocket` and the `ws` package's `WebSocket` are both
 * assignable to it as they are (no cast), so the core has no Node import.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: EventHandlerLike<unknown> | null;
  onmessage: EventHandlerLike<{ readonly data: unknown }> | null;
  onclose: EventHandlerLike<WebSocketCloseEventLike> | null;
  onerror: EventHandlerLike<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens a WebSocket to `url`. In Node: `(url) => new WebSocket(url)` with `WebSocket` from `ws`. */
export type WebSocketFactory = (url: string) => WebSocketLike;

/** `WebSocket.OPEN`, the same in every implementation. */
export const WEBSOCKET_OPEN = 1;

/**
 * The factory to use: the given one, else the global `WebSocket` (browsers, Node 22+).
 * @throws ClientError `CM_ERR_CLIENT_NO_WEBSOCKET` when there is neither.
 */
export function resolveWebSocketFactory(factory: WebSocketFactory | undefined): WebSocketFactory {
  if (factory) return factory;
  const Global = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (Global === undefined) throw new ClientError('CM_ERR_CLIENT_NO_WEBSOCKET');
  return (url) => new Global(url);
}
