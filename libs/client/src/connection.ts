import { computeRetryDelayMs } from '@chatmesh/errors';
import { closeCodeEntry, CLOSE_CODES, type ClientFrame } from '@chatmesh/protocol';
import type { ClientState, ChatClientEvents, FrameOf } from './chat-client-types.js';
import type { CompiledClientOptions } from './client-options.js';
import { ClientError } from './errors.js';
import type { TypedEmitter } from './internal/typed-emitter.js';
import { WEBSOCKET_OPEN, type WebSocketLike } from './websocket.js';

/** A close code the client uses for sockets it drops itself (timeouts, dead connections, reconnect hints). */
const CLIENT_DROPPED_CODE = 4000;

/** What the rest of the client does when the connection changes. */
export interface ConnectionListener {
  /** A text frame arrived on the current socket. */
  onText(data: unknown): void;
  /** The current socket is gone (closed or dropped, or the client finished): per-socket timers stop. */
  onSocketGone(): void;
  /** The client is waiting to reconnect: per-connection state (typing, gaps being filled) is dropped. */
  onWaiting(): void;
  /** The client is closed for good: waiting commands are rejected. */
  onFinished(): void;
  /** The server asked to reconnect and the delay is over: last words (the ack) before the socket is dropped. */
  beforeLeaving(): void;
}

/**
 * The client's WebSocket: opening it with a fresh token, the `hello` timeout, pings with a pong timeout,
 * reconnecting with backoff and full jitter (reset by each `hello`), close codes that end the client, the
 * server's `reconnect` hint, and closing for good.
 */
export class ClientConnection {
  private socket: WebSocketLike | undefined;
  private helloFrame: FrameOf<'hello'> | undefined;
  private stateValue: ClientState = 'idle';
  private reconnectAttempt = 0;
  private connectGeneration = 0;
  private nextTokenReason: 'connect' | 'reconnect' | 'authExpired' = 'connect';
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private heardSincePing = true;
  private hintTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectAtMs: number | undefined;
  private readonly helloWaiters: Array<{
    resolve: (hello: FrameOf<'hello'>) => void;
    reject: (error: ClientError) => void;
  }> = [];

  constructor(
    private readonly options: CompiledClientOptions,
    private readonly events: TypedEmitter<ChatClientEvents>,
    private readonly listener: ConnectionListener,
  ) {}

  get state(): ClientState {
    return this.stateValue;
  }

  get isLive(): boolean {
    return this.stateValue === 'live';
  }

  get isClosed(): boolean {
    return this.stateValue === 'closed';
  }

  /** The `hello` of the current connection, if it is live. */
  get hello(): FrameOf<'hello'> | undefined {
    return this.helloFrame;
  }

  /** Leaves `idle`: the first socket opens once `ready` (the restored outbox) resolves. */
  start(ready: Promise<void>): void {
    if (this.stateValue !== 'idle') return;
    this.stateValue = 'connecting';
    void ready.then(() => this.openSocket());
  }

  /** Resolves with the next `hello` (at once with the current one when connected). */
  connected(): Promise<FrameOf<'hello'>> {
    if (this.stateValue === 'live' && this.helloFrame) return Promise.resolve(this.helloFrame);
    if (this.stateValue === 'closed') return Promise.reject(new ClientError('CM_ERR_CLIENT_CLOSED'));
    return new Promise((resolve, reject) => this.helloWaiters.push({ resolve, reject }));
  }

  /** Sends a frame on the open socket; false (nothing sent) when there is none. */
  transmit(frame: ClientFrame): boolean {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== WEBSOCKET_OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  /** Anything from the server counts as an answer to the last ping. */
  heard(): void {
    this.heardSincePing = true;
  }

  /** The connection's `hello`: it is live; backoff and the hello timeout reset, pings start. */
  markLive(frame: FrameOf<'hello'>): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.helloFrame = frame;
    this.stateValue = 'live';
    this.reconnectAttempt = 0;
    this.nextTokenReason = 'reconnect';
    this.startPing();
  }

  /** Resolves the callers of {@link connected} with the connection's `hello`. */
  announce(frame: FrameOf<'hello'>): void {
    for (const waiter of this.helloWaiters.splice(0)) waiter.resolve(frame);
  }

  /** Drops the current socket, if any, and reconnects. */
  dropCurrent(reason: string): void {
    if (this.socket !== undefined) this.dropSocket(this.socket, reason);
  }

  /** The server is draining: leave after `retryAfterMs` plus jitter (see the `reconnect` frame). */
  onReconnectHint(frame: FrameOf<'reconnect'>): void {
    // The gateway is draining: leave after the delay plus jitter, so its clients do not all arrive at once
    // at the next instance; if it closes first, the reconnect still waits until then.
    const delayMs = Math.max(0, frame.retryAfterMs) * (1 + this.options.random());
    this.reconnectAtMs = Date.now() + delayMs;
    const socket = this.socket;
    if (socket === undefined) return;
    if (this.hintTimer !== undefined) clearTimeout(this.hintTimer);
    this.hintTimer = setTimeout(() => {
      this.listener.beforeLeaving();
      this.reconnectAtMs = undefined;
      this.dropSocket(socket, `server asked to reconnect (${frame.code})`);
    }, delayMs);
  }

  /** Ends the client for good. */
  finish(event: { code: number; reason: string }): void {
    const wasLive = this.stateValue === 'live';
    this.stateValue = 'closed';
    this.connectGeneration += 1;
    const socket = this.socket;
    this.socket = undefined;
    this.clearConnectionTimers();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (socket !== undefined) {
      socket.onmessage = null;
      socket.onclose = null;
      try {
        socket.close(CLOSE_CODES.NORMAL.code, 'client closed');
      } catch {
        // Already closing.
      }
    }
    this.listener.onFinished();
    for (const waiter of this.helloWaiters.splice(0)) waiter.reject(new ClientError('CM_ERR_CLIENT_CLOSED'));
    if (wasLive || socket !== undefined || event.code !== CLOSE_CODES.NORMAL.code) {
      this.events.emit('disconnected', { ...event, willReconnect: false, retryInMs: undefined });
    }
  }

  private async openSocket(): Promise<void> {
    if (this.stateValue === 'closed') return;
    const generation = ++this.connectGeneration;
    this.stateValue = 'connecting';
    let token: string;
    try {
      token = await this.options.tokenProvider({ reason: this.nextTokenReason, deviceId: this.options.deviceId });
      if (typeof token !== 'string' || token.length === 0) throw new TypeError('the token provider returned no token');
    } catch (cause) {
      if (this.isStale(generation)) return;
      this.events.emit('error', new ClientError('CM_ERR_CLIENT_TOKEN_FAILED', undefined, { cause }));
      this.scheduleReconnect(1006, 'token provider failed');
      return;
    }
    if (this.isStale(generation)) return;
    const url = `${this.options.wsUrl}?access_token=${encodeURIComponent(token)}`;
    let socket: WebSocketLike;
    try {
      socket = this.options.webSocketFactory(url);
    } catch (cause) {
      this.events.emit(
        'error',
        new ClientError('CM_ERR_CLIENT_NO_WEBSOCKET', 'the WebSocket factory threw', { cause }),
      );
      this.scheduleReconnect(1006, 'socket could not be created');
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(
      () => this.dropSocket(socket, `no hello within ${this.options.connectTimeoutMs} ms`),
      this.options.connectTimeoutMs,
    );
    socket.onmessage = (event) => {
      if (this.socket === socket) this.listener.onText(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.onSocketClosed(event.code, event.reason);
    };
    socket.onerror = () => {
      // Always followed by a close event, which decides what to do.
    };
  }

  /** Whether a connection attempt was overtaken (closed, or a newer attempt started) while it awaited. */
  private isStale(generation: number): boolean {
    return generation !== this.connectGeneration || this.stateValue === 'closed';
  }

  /** Abandons a socket the client no longer trusts, and reconnects. */
  private dropSocket(socket: WebSocketLike, reason: string): void {
    if (this.socket !== socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    try {
      socket.close(CLIENT_DROPPED_CODE, reason.slice(0, 120));
    } catch {
      // Closing a socket that never opened may throw in some implementations; it is gone either way.
    }
    this.onSocketClosed(CLIENT_DROPPED_CODE, reason);
  }

  private onSocketClosed(code: number, reason: string): void {
    this.socket = undefined;
    this.clearConnectionTimers();
    if (this.stateValue === 'closed') return;
    const entry = closeCodeEntry(code);
    // Codes outside the table (1006 abnormal closure, 1011, a dropped socket...) are worth a retry.
    if (entry !== undefined && !entry.retriable) {
      this.events.emit(
        'error',
        new ClientError('CM_ERR_CLIENT_CONNECTION_ENDED', `the server ended the connection: ${code} ${entry.type}`, {
          context: { closeCode: code },
        }),
      );
      this.finish({ code, reason });
      return;
    }
    if (code === CLOSE_CODES.AUTH_EXPIRED.code) this.nextTokenReason = 'authExpired';
    if (code === CLOSE_CODES.POLICY.code) {
      // "Reconnect later": start from the upper part of the backoff curve.
      this.reconnectAttempt = Math.max(this.reconnectAttempt, 5);
    }
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code: number, reason: string): void {
    this.stateValue = 'waiting';
    this.helloFrame = undefined;
    this.listener.onWaiting();
    let delayMs: number;
    if (this.reconnectAtMs !== undefined) {
      delayMs = Math.max(0, this.reconnectAtMs - Date.now());
      this.reconnectAtMs = undefined;
    } else {
      this.reconnectAttempt += 1;
      delayMs = computeRetryDelayMs(this.options.backoff, this.reconnectAttempt, this.options.random);
    }
    if (this.nextTokenReason === 'connect') this.nextTokenReason = 'reconnect';
    this.events.emit('disconnected', { code, reason, willReconnect: true, retryInMs: delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.openSocket();
    }, delayMs);
  }

  private clearConnectionTimers(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    if (this.hintTimer !== undefined) clearTimeout(this.hintTimer);
    if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
    this.connectTimer = this.pingTimer = this.hintTimer = this.pongTimer = undefined;
    this.listener.onSocketGone();
  }

  private startPing(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
    this.heardSincePing = true;
    const socket = this.socket;
    this.pingTimer = setInterval(() => {
      if (socket === undefined || this.socket !== socket) return;
      if (!this.transmit({ type: 'ping' })) return;
      this.heardSincePing = false;
      if (this.pongTimer !== undefined) clearTimeout(this.pongTimer);
      // Nothing back in time: the connection is dead even if the socket has not noticed (a half-open TCP
      // connection sees no FIN for minutes). Bound: pingIntervalMs + pongTimeoutMs (docs/reliability.md).
      this.pongTimer = setTimeout(() => {
        this.pongTimer = undefined;
        if (this.socket === socket && !this.heardSincePing) this.dropSocket(socket, 'no answer to ping');
      }, this.options.pongTimeoutMs);
    }, this.options.pingIntervalMs);
  }
}
