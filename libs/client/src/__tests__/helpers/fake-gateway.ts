/**
 * An in-process gateway for the SDK's unit tests, built on `ws`'s WebSocketServer (port 0). It speaks
 * protocol v1 the way docs/protocol.md describes (hello, replay after the cursor, syncDone, live frames,
 * acks moving the cursor, sync, ack/reject answers deduped by clientMessageId) and lets tests inject
 * faults: lost live frames, swallowed answers, refusals, dropped connections and close codes.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type { ClientFrame, InboxFrame, ServerFrame } from '@chatmesh/protocol';

export interface FakeConnection {
  readonly userId: string;
  readonly deviceId: string;
  readonly socket: WebSocket;
  /** Frames this connection sent, in order. */
  readonly frames: ClientFrame[];
}

/** An inbox frame before the inbox gives it a position. */
export type UnplacedFrame = InboxFrame extends infer T ? (T extends unknown ? Omit<T, 'inboxSeq'> : never) : never;

type Command = Extract<ClientFrame, { type: 'send' | 'createChat' }>;

export interface FakeGatewayHooks {
  /** Answer for a command: undefined lets the fake store it and ack; 'swallow' sends nothing. */
  answer?: (frame: Command, conn: FakeConnection) => undefined | 'swallow' | { code: string; retriable: boolean };
  /** Whether a live frame reaches the socket (it is in the inbox either way, so replays and syncs have it). */
  deliverLive?: (frame: InboxFrame, conn: FakeConnection) => boolean;
  /** Called after each inbox frame is sent on a connection (live or replay). */
  afterFrameSent?: (frame: InboxFrame, conn: FakeConnection) => void;
}

export interface FakeGateway {
  readonly url: string;
  readonly connections: FakeConnection[];
  /** Every frame any client sent. */
  readonly frames: Array<ClientFrame & { userId: string }>;
  readonly hooks: FakeGatewayHooks;
  /** Connection attempts per token. */
  readonly tokens: string[];
  /** Stored messages per chat, in seq order. */
  readonly chats: Map<
    string,
    { seq: number; members: string[]; messages: Array<{ seq: number; clientMessageId: string; by: string }> }
  >;
  /** Tokens refused at the upgrade (HTTP 401). */
  readonly refusedTokens: Set<string>;
  cursorOf(userId: string, deviceId: string): number;
  inboxOf(userId: string): InboxFrame[];
  /** Appends a message to a chat (as `by`) and delivers it; returns its seq. */
  post(chatId: string, by: string, body: string): number;
  /** Appends a frame to a user's inbox without delivering it live. */
  appendSilently(userId: string, frame: UnplacedFrame): InboxFrame;
  createChat(chatId: string, members: string[]): void;
  sendRaw(conn: FakeConnection, frame: ServerFrame | Record<string, unknown>): void;
  close(): Promise<void>;
}

/** Tokens are `userId.deviceId`. */
export function fakeToken(userId: string, deviceId = 'd1'): string {
  return `${userId}.${deviceId}`;
}

export async function startFakeGateway(): Promise<FakeGateway> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  const inboxes = new Map<string, InboxFrame[]>();
  const cursors = new Map<string, number>();
  const chats: FakeGateway['chats'] = new Map();
  const answered = new Map<string, ServerFrame>();
  const connections: FakeConnection[] = [];
  const frames: FakeGateway['frames'] = [];
  const hooks: FakeGatewayHooks = {};
  const tokens: string[] = [];
  const refusedTokens = new Set<string>();

  const inbox = (userId: string): InboxFrame[] => {
    let list = inboxes.get(userId);
    if (!list) inboxes.set(userId, (list = []));
    return list;
  };
  const sendFrame = (conn: FakeConnection, frame: unknown): void => {
    if (conn.socket.readyState === WebSocket.OPEN) conn.socket.send(JSON.stringify(frame));
  };
  const sendInbox = (conn: FakeConnection, frame: InboxFrame): void => {
    if (conn.socket.readyState !== WebSocket.OPEN) return;
    sendFrame(conn, frame);
    hooks.afterFrameSent?.(frame, conn);
  };
  const append = (userId: string, frame: UnplacedFrame): InboxFrame => {
    const list = inbox(userId);
    const full = { ...frame, inboxSeq: list.length + 1 } as InboxFrame;
    list.push(full);
    return full;
  };
  const deliver = (userId: string, frame: UnplacedFrame): void => {
    const full = append(userId, frame);
    for (const conn of connections.filter((c) => c.userId === userId)) {
      if (hooks.deliverLive?.(full, conn) ?? true) sendInbox(conn, full);
    }
  };
  const replay = (conn: FakeConnection, after: number): void => {
    for (const frame of inbox(conn.userId).filter((f) => f.inboxSeq > after)) sendInbox(conn, frame);
    sendFrame(conn, { type: 'syncDone', upToInboxSeq: inbox(conn.userId).length });
  };
  const post = (chatId: string, by: string, body: string, clientMessageId = `${by}-${Math.random()}`): number => {
    const chat = chats.get(chatId);
    if (!chat) throw new Error(`no chat ${chatId}`);
    const seq = ++chat.seq;
    chat.messages.push({ seq, clientMessageId, by });
    for (const member of chat.members) {
      deliver(member, {
        type: 'messageReceived',
        chatId,
        seq,
        by: { userId: by, deviceId: 'd1' },
        serverTimeMs: Date.now(),
        clientMessageId,
        body,
        envelopes: [],
        attachments: [],
      });
    }
    return seq;
  };
  const createChat = (chatId: string, members: string[]): void => {
    chats.set(chatId, { seq: 1, members, messages: [] });
    for (const member of members) {
      deliver(member, {
        type: 'chatCreated',
        chatId,
        seq: 1,
        by: { userId: members[0] ?? '', deviceId: 'd1' },
        serverTimeMs: Date.now(),
        kind: members.length === 2 ? 'direct' : 'group',
        members: members.map((userId, i) => ({ userId, role: i === 0 ? 'admin' : 'member' })),
        name: null,
        pictureAttachmentId: null,
      });
    }
  };

  wss.on('connection', (socket, request) => {
    const token = new URL(request.url ?? '/', 'http://x').searchParams.get('access_token') ?? '';
    tokens.push(token);
    if (refusedTokens.has(token)) {
      socket.close(4001, 'token expired');
      return;
    }
    const [userId = '', deviceId = ''] = token.split('.');
    const conn: FakeConnection = { userId, deviceId, socket, frames: [] };
    connections.push(conn);
    socket.on('close', () => connections.splice(connections.indexOf(conn), 1));
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      conn.frames.push(frame);
      frames.push({ ...frame, userId });
      switch (frame.type) {
        case 'ping':
          return sendFrame(conn, { type: 'pong', serverTimeMs: Date.now() });
        case 'ack':
          cursors.set(`${userId}/${deviceId}`, Math.max(frame.upToInboxSeq, cursors.get(`${userId}/${deviceId}`) ?? 0));
          return;
        case 'sync':
          return replay(conn, frame.fromInboxSeq ?? cursors.get(`${userId}/${deviceId}`) ?? 0);
        case 'send':
        case 'createChat': {
          const decision = hooks.answer?.(frame, conn);
          if (decision === 'swallow') return;
          const idKey = `${userId}/${frame.type === 'send' ? frame.clientMessageId : frame.requestId}`;
          if (decision !== undefined) {
            return sendFrame(conn, {
              type: 'reject',
              requestId: frame.requestId,
              chatId: frame.chatId,
              clientMessageId: frame.type === 'send' ? frame.clientMessageId : null,
              code: decision.code,
              message: 'refused by the fake',
              retriable: decision.retriable,
            });
          }
          const previous = answered.get(idKey);
          if (previous) return sendFrame(conn, { ...previous, requestId: frame.requestId });
          let seq: number;
          if (frame.type === 'send') seq = post(frame.chatId, userId, frame.body ?? '', frame.clientMessageId);
          else {
            createChat(frame.chatId, [userId, ...frame.members]);
            seq = 1;
          }
          const ack = {
            type: 'ack',
            requestId: frame.requestId,
            chatId: frame.chatId,
            clientMessageId: frame.type === 'send' ? frame.clientMessageId : null,
            seq,
            serverTimeMs: Date.now(),
          } as const;
          answered.set(idKey, ack);
          return sendFrame(conn, ack);
        }
        default:
          return;
      }
    });
    const cursor = cursors.get(`${userId}/${deviceId}`) ?? 0;
    sendFrame(conn, { type: 'hello', protocol: 1, userId, deviceId, cursor, serverTimeMs: Date.now() });
    replay(conn, cursor);
  });

  return {
    url: `ws://127.0.0.1:${port}`,
    connections,
    frames,
    hooks,
    tokens,
    chats,
    refusedTokens,
    cursorOf: (userId, deviceId) => cursors.get(`${userId}/${deviceId}`) ?? 0,
    inboxOf: inbox,
    post: (chatId, by, body) => post(chatId, by, body),
    appendSilently: append,
    createChat,
    sendRaw: sendFrame,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
