import { compileRetryPolicy, type RetryPolicy, type RetryPolicyOptions } from '@chatmesh/errors';
import { MAX_CLIENT_RETRY_AGE_MS } from '@chatmesh/protocol';
import { ClientError } from './errors.js';
import { createMemoryOutboxStorage, type OutboxStorage } from './outbox-storage.js';
import { resolveWebSocketFactory, type WebSocketFactory } from './websocket.js';

/** Why the token provider is being asked. */
export type TokenRequestReason = 'connect' | 'reconnect' | 'authExpired' | 'api';

/** Returns a JWT for the WebSocket upgrade; called before every connection attempt. */
export type TokenProvider = (request: {
  readonly reason: TokenRequestReason;
  readonly deviceId: string | undefined;
}) => string | Promise<string>;

/** Options of {@link createChatClient}, as a caller writes them. */
export interface ChatClientOptions {
  /**
   * The gateway: `ws(s)://host:port` (or `http(s)://`, turned into `ws(s)://`); `/v1/ws` is appended
   * unless the path already ends with it.
   */
  url: string;
  /** Returns a JWT; called on every (re)connection, so a fresh token follows a 4001 close. */
  tokenProvider: TokenProvider;
  /** The device the tokens are for; passed to `tokenProvider`. */
  deviceId?: string;
  /** Opens sockets. @default the global `WebSocket` (browsers); in Node pass one built on `ws`. */
  webSocketFactory?: WebSocketFactory;
  /** Where unanswered commands wait. @default {@link createMemoryOutboxStorage} */
  storage?: OutboxStorage;
  /**
   * Reconnection delays: full jitter, a uniform delay in [0, min(maxDelayMs, initialDelayMs * multiplier^n)].
   * Also paces commands re-sent after a retriable reject. `maxAttempts` is ignored: the client reconnects
   * until closed. @default { initialDelayMs: 500, maxDelayMs: 30000, multiplier: 2 }
   */
  backoff?: RetryPolicyOptions;
  /** Time for a socket to open and send `hello`, in milliseconds. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Heartbeat: a `ping` goes out every this many milliseconds; when nothing at all (pong or any frame) comes back
   * within {@link pongTimeoutMs}, the connection is dropped as dead and the client reconnects. A server that went
   * silent (network dropped, no FIN) is thus noticed within pingIntervalMs + pongTimeoutMs. @default 10000
   */
  pingIntervalMs?: number;
  /** How long a ping waits for any frame before the connection counts as dead. @default 5000 */
  pongTimeoutMs?: number;
  /**
   * Acks are batched: sent this long after the first unacked frame is handed out (inbox positions and
   * broadcast chat positions alike). @default 50
   */
  ackDebounceMs?: number;
  /** ...or at once when this many frames are unacked (inbox positions plus broadcast chat frames). @default 200 */
  ackBatchSize?: number;
  /**
   * How long a chat waits for a gap to fill (after a `sync`) before releasing held frames. A broadcast
   * chat waits, then sends `sync` with its position and waits this long again. @default 5000
   */
  gapTimeoutMs?: number;
  /** Attempts of one command refused with a retriable reason before it fails. @default 20 */
  maxCommandAttempts?: number;
  /** Connect at once; otherwise call `connect()`. @default true */
  autoConnect?: boolean;
  /** Source of jitter, in [0, 1). Tests pin it. @default Math.random */
  random?: () => number;
  /** While typing, `setTyping(chatId, true)` sends at most one `typing` frame per this many ms. @default 3000 */
  typingRefreshMs?: number;
  /** The clock (typing refreshes). Tests pin it. @default Date.now */
  now?: () => number;
  /** HTTP client of the settings and devices helpers. @default the global `fetch` */
  fetch?: typeof fetch;
  /**
   * An outbox entry older than this is dropped unsent (its promise rejects with `CM_ERR_CLIENT_OUTBOX_EXPIRED`): past
   * it the server may no longer recognise the retry and would store the message twice. At most (and by default)
   * `MAX_CLIENT_RETRY_AGE_MS`, 7 days; the server keeps idempotency keys longer.
   */
  outboxMaxAgeMs?: number;
  /**
   * Where the application's stored history of a chat ends (its highest chat seq), for chats this client has not seen
   * a frame of since it started: a `syncGap` resync fetches each chat's history after it. Without it such a chat is
   * fetched from the user's join (frames the app already has come again; dedupe by chat and seq).
   */
  historyPosition?: (chatId: string) => number | undefined;
}

/** Options with every default applied and checked. */
export interface CompiledClientOptions {
  readonly wsUrl: string;
  /** `http(s)://host:port` of the gateway's HTTP API. */
  readonly httpUrl: string;
  readonly tokenProvider: TokenProvider;
  readonly deviceId: string | undefined;
  readonly webSocketFactory: WebSocketFactory;
  readonly storage: OutboxStorage;
  readonly backoff: RetryPolicy;
  readonly connectTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly ackDebounceMs: number;
  readonly ackBatchSize: number;
  readonly gapTimeoutMs: number;
  readonly maxCommandAttempts: number;
  readonly autoConnect: boolean;
  readonly random: () => number;
  readonly typingRefreshMs: number;
  readonly now: () => number;
  readonly fetch: typeof fetch | undefined;
  readonly outboxMaxAgeMs: number;
  readonly historyPosition: ((chatId: string) => number | undefined) | undefined;
}

/** The defaults, each with its unit in its name. */
export const CLIENT_DEFAULTS = Object.freeze({
  backoff: Object.freeze({ initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2 }),
  connectTimeoutMs: 10_000,
  pingIntervalMs: 10_000,
  pongTimeoutMs: 5_000,
  ackDebounceMs: 50,
  ackBatchSize: 200,
  gapTimeoutMs: 5_000,
  maxCommandAttempts: 20,
  typingRefreshMs: 3_000,
});

/** The HTTP API base for a WebSocket URL: `ws(s)://host/prefix/v1/ws` → `http(s)://host/prefix`. */
export function toHttpUrl(wsUrl: string): string {
  const parsed = new URL(wsUrl);
  parsed.protocol = parsed.protocol === 'wss:' ? 'https:' : 'http:';
  parsed.pathname = parsed.pathname.replace(/\/v1\/ws$/, '');
  return parsed.toString().replace(/\/+$/, '');
}

/** The WebSocket endpoint for a gateway URL (without the token). */
export function toWebSocketUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  const path = parsed.pathname.replace(/\/+$/, '');
  parsed.pathname = path.endsWith('/v1/ws') ? path : `${path}/v1/ws`;
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}

/**
 * Applies defaults and validates options.
 * @throws ClientError `CM_ERR_CLIENT_INVALID_OPTIONS` listing every problem with its value;
 *   `CM_ERR_CLIENT_NO_WEBSOCKET` when no WebSocket implementation is available.
 */
export function compileClientOptions(options: ChatClientOptions): CompiledClientOptions {
  const problems: string[] = [];
  let wsUrl = '';
  try {
    wsUrl = toWebSocketUrl(options.url);
    if (!/^wss?:$/.test(new URL(wsUrl).protocol))
      problems.push(`url must be ws(s):// or http(s):// (got ${options.url})`);
  } catch {
    problems.push(`url is not a URL (got ${JSON.stringify(options.url)})`);
  }
  if (typeof options.tokenProvider !== 'function') problems.push('tokenProvider must be a function');
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!(Number.isFinite(v) && v > 0)) problems.push(`${name} must be a positive number (got ${String(value)})`);
    return v;
  };
  const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, CLIENT_DEFAULTS.connectTimeoutMs);
  const pingIntervalMs = positive('pingIntervalMs', options.pingIntervalMs, CLIENT_DEFAULTS.pingIntervalMs);
  const pongTimeoutMs = positive('pongTimeoutMs', options.pongTimeoutMs, CLIENT_DEFAULTS.pongTimeoutMs);
  const ackDebounceMs = positive('ackDebounceMs', options.ackDebounceMs, CLIENT_DEFAULTS.ackDebounceMs);
  const ackBatchSize = positive('ackBatchSize', options.ackBatchSize, CLIENT_DEFAULTS.ackBatchSize);
  const gapTimeoutMs = positive('gapTimeoutMs', options.gapTimeoutMs, CLIENT_DEFAULTS.gapTimeoutMs);
  const maxCommandAttempts = positive(
    'maxCommandAttempts',
    options.maxCommandAttempts,
    CLIENT_DEFAULTS.maxCommandAttempts,
  );
  const typingRefreshMs = positive('typingRefreshMs', options.typingRefreshMs, CLIENT_DEFAULTS.typingRefreshMs);
  const outboxMaxAgeMs = positive('outboxMaxAgeMs', options.outboxMaxAgeMs, MAX_CLIENT_RETRY_AGE_MS);
  if (outboxMaxAgeMs > MAX_CLIENT_RETRY_AGE_MS) {
    problems.push(
      `outboxMaxAgeMs must be at most ${MAX_CLIENT_RETRY_AGE_MS} (7 days: the server remembers sends a little longer; got ${outboxMaxAgeMs})`,
    );
  }
  if (options.historyPosition !== undefined && typeof options.historyPosition !== 'function') {
    problems.push('historyPosition must be a function');
  }
  let backoff: RetryPolicy | undefined;
  try {
    backoff = compileRetryPolicy({ ...CLIENT_DEFAULTS.backoff, ...options.backoff, jitter: true });
  } catch (error) {
    problems.push(`backoff: ${(error as Error).message}`);
  }
  if (problems.length > 0 || backoff === undefined) {
    throw new ClientError('CM_ERR_CLIENT_INVALID_OPTIONS', `Invalid chat client options: ${problems.join('; ')}`, {
      context: { problems },
    });
  }
  return Object.freeze({
    wsUrl,
    httpUrl: toHttpUrl(wsUrl),
    tokenProvider: options.tokenProvider,
    deviceId: options.deviceId,
    webSocketFactory: resolveWebSocketFactory(options.webSocketFactory),
    storage: options.storage ?? createMemoryOutboxStorage(),
    backoff,
    connectTimeoutMs,
    pingIntervalMs,
    pongTimeoutMs,
    ackDebounceMs,
    ackBatchSize,
    gapTimeoutMs,
    maxCommandAttempts,
    autoConnect: options.autoConnect ?? true,
    random: options.random ?? Math.random,
    typingRefreshMs,
    now: options.now ?? Date.now,
    // Bound here: browsers refuse a fetch called as a method of another object.
    fetch: options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined),
    outboxMaxAgeMs,
    historyPosition: options.historyPosition,
  });
}
