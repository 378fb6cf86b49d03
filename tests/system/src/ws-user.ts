import { serverFrameSchema, type ServerFrame } from '@chatmesh/protocol';
import { waitFor } from '@chatmesh/testing';
import { WebSocket } from 'ws';

/** A frame of a given type. */
export type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

/** Options of {@link connectUser}. */
export interface ConnectUserOptions {
  /** Ack every inbox position at once, as a real device does after storing it (this is what makes DELIVERED). @default true */
  readonly autoAck?: boolean;
  /** How long `hello` may take after the upgrade (it takes milliseconds; a late one is a gateway bug). @default 10000 */
  readonly helloTimeoutMs?: number;
}

/**
 * One device speaking the raw client protocol over a real WebSocket: it records every frame (validated
 * against the protocol's schemas), acks inbox positions like a device that stored them, and lets a test
 * wait for frames. Deliberately not the SDK: the suite checks what the server sends, not what the SDK
 * makes of it.
 */
export class WsUser {
  readonly userId: string;
  readonly deviceId: string;
  readonly frames: ServerFrame[] = [];
  /** Ack every inbox position as it arrives; tests turn it off to hold a DELIVERED back. */
  autoAck: boolean;
  readonly #ws: WebSocket;
  #closed: { code: number; reason: string } | null = null;
  #requests = 0;

  private constructor(userId: string, deviceId: string, ws: WebSocket, autoAck: boolean) {
    this.userId = userId;
    this.deviceId = deviceId;
    this.#ws = ws;
    this.autoAck = autoAck;
    ws.on('message', (data) => {
      const frame = serverFrameSchema.parse(JSON.parse(String(data)));
      this.frames.push(frame);
      if (this.autoAck && 'inboxSeq' in frame && typeof frame.inboxSeq === 'number') {
        this.send({ type: 'ack', upToInboxSeq: frame.inboxSeq });
      }
    });
    ws.on('close', (code, reason) => (this.#closed = { code, reason: reason.toString() }));
  }

  /** Opens `/v1/ws` with the token; resolves after `hello`. @throws when the upgrade is refused (the HTTP status and body in the message) */
  static async connect(
    gatewayUrl: string,
    token: string,
    ids: { userId: string; deviceId: string },
    options: ConnectUserOptions = {},
  ): Promise<WsUser> {
    const ws = new WebSocket(`${gatewayUrl.replace(/^http/, 'ws')}/v1/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const user = new WsUser(ids.userId, ids.deviceId, ws, options.autoAck ?? true);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new Error(`upgrade refused: ${res.statusCode} ${body}`)));
      });
      ws.once('error', reject);
    });
    // No retry: a socket that gets 101 and then no hello is exactly what issue 15 was (uWS closed it); a
    // real client would reconnect, but a test that reconnects silently could never catch it again.
    const timeoutMs = options.helloTimeoutMs ?? 10_000;
    await waitFor(() => user.framesOf('hello').length > 0 || user.closed !== null, {
      description: `${ids.userId}/${ids.deviceId} receives hello after its upgrade`,
      timeoutMs,
      intervalMs: 10,
    }).catch(() => undefined);
    if (user.framesOf('hello').length === 0) {
      ws.terminate();
      throw new Error(
        `no hello for ${ids.userId}/${ids.deviceId} after the upgrade (socket ` +
          `${user.closed ? `closed ${user.closed.code} ${user.closed.reason || '(no reason)'}` : `still open after ${timeoutMs} ms`}` +
          `, frames: ${user.frames.map((f) => f.type).join(',') || 'none'})`,
      );
    }
    return user;
  }

  get closed(): { code: number; reason: string } | null {
    return this.#closed;
  }

  send(frame: Record<string, unknown>): void {
    this.#ws.send(JSON.stringify(frame));
  }

  /** Acks up to the highest inbox position received so far (what a device does once it stored them). */
  ackAll(): void {
    let highest = 0;
    for (const frame of this.frames) {
      if ('inboxSeq' in frame && typeof frame.inboxSeq === 'number') highest = Math.max(highest, frame.inboxSeq);
    }
    if (highest > 0) this.send({ type: 'ack', upToInboxSeq: highest });
  }

  /** A fresh request id. */
  requestId(): string {
    return `${this.deviceId}-r${++this.#requests}`;
  }

  /** Frames of a type received so far that match. */
  framesOf<T extends ServerFrame['type']>(type: T, match: (f: FrameOf<T>) => boolean = () => true): FrameOf<T>[] {
    return this.frames.filter((f): f is FrameOf<T> => f.type === type && match(f as FrameOf<T>));
  }

  /** Waits for the first frame of a type that matches (already received ones count). */
  async waitFrame<T extends ServerFrame['type']>(
    type: T,
    match: (f: FrameOf<T>) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<FrameOf<T>> {
    return waitFor(() => this.framesOf(type, match)[0] ?? false, {
      description: `${this.userId}/${this.deviceId} receives a ${type} frame`,
      timeoutMs,
      intervalMs: 20,
    });
  }

  /** Sends a message and waits for its ack (the SENT state). */
  async sendMessage(chatId: string, body: string): Promise<FrameOf<'ack'>> {
    const requestId = this.requestId();
    const clientMessageId = `${this.deviceId}-m${this.#requests}`;
    this.send({ type: 'send', requestId, chatId, clientMessageId, body });
    return this.waitFrame('ack', (f) => f.requestId === requestId);
  }

  /** Creates a chat and waits for its ack. */
  async createChat(chatId: string, kind: 'direct' | 'group', members: string[]): Promise<FrameOf<'ack'>> {
    const requestId = this.requestId();
    this.send({ type: 'createChat', requestId, chatId, kind, members, ...(kind === 'group' ? { name: chatId } : {}) });
    return this.waitFrame('ack', (f) => f.requestId === requestId);
  }

  /** Closes the socket (a normal close) and waits until it is closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#ws.close(1000, 'test done');
    await waitFor(() => this.#closed !== null, { description: 'socket closed', timeoutMs: 10_000, intervalMs: 20 });
  }
}
