/**
 * An in-process gateway for the SDK's unit tests, built on `ws`'s WebSocketServer (port 0). It speaks
 * protocol 2 the way docs/protocol.md describes (hello, replay after the cursor, syncDone, live frames,
 * acks moving the cursor, sync, ack/reject answers deduped by clientMessageId) and lets tests inject
 * faults: lost live frames, swallowed answers, refusals, dropped connections and close codes.
 *
 * Broadcast chats (`createChat(id, members, { broadcast: true })`) keep one log per chat instead of
 * inbox entries: their frames go to members' connections without `inboxSeq`; on connect each is replayed
 * after the device's stored position in it (moved by `ack.chats`), and `sync.chats` replays the listed
 * chats after the given seqs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import {
  PROTOCOL_VERSION,
  type BroadcastFrame,
  type ClientFrame,
  type InboxFrame,
  type ServerFrame,
} from '@chatmesh/protocol';

export interface FakeConnection {
  readonly userId: string;
  readonly deviceId: string;
  readonly socket: WebSocket;
  /** Frames this connection sent, in order. */
  readonly frames: ClientFrame[];
}

/** An inbox frame before the inbox gives it a position (the shape of a broadcast chat's frame). */
export type UnplacedFrame = BroadcastFrame;

/** Broadcast chat positions a device sent in an `ack` or a `sync`. */
export interface ChatPositionsRecord {
  readonly userId: string;
  readonly deviceId: string;
  readonly chats: ReadonlyArray<{ chatId: string; seq: number }>;
}

type Command = Extract<ClientFrame, { type: 'send' | 'createChat' }>;

export interface FakeGatewayHooks {
  /** Answer for a command: undefined lets the fake store it and ack; 'swallow' sends nothing. */
  answer?: (frame: Command, conn: FakeConnection) => undefined | 'swallow' | { code: string; retriable: boolean };
  /** Whether a live frame reaches the socket (it is in the inbox either way, so replays and syncs have it). */
  deliverLive?: (frame: InboxFrame, conn: FakeConnection) => boolean;
  /** Called after each inbox frame is sent on a connection (live or replay). */
  afterFrameSent?: (frame: InboxFrame, conn: FakeConnection) => void;
  /** Whether a live broadcast frame reaches the socket (it is in the chat's log either way). */
  deliverBroadcastLive?: (frame: BroadcastFrame, conn: FakeConnection) => boolean;
  /** Called after each broadcast frame is sent on a connection (live or replay). */
  afterBroadcastSent?: (frame: BroadcastFrame, conn: FakeConnection) => void;
}

/** The fake's HTTP API state (`/v1/settings`, `/v1/devices`). */
export interface FakeHttpApi {
  settings: Map<string, { readReceipts: boolean; presenceVisible: boolean }>;
  devices: Map<string, Array<{ deviceId: string; registeredAtMs: number; online: boolean }>>;
  /** Every HTTP request: method, path, the user of its token (null without one) and its JSON body. */
  readonly requests: Array<{ method: string; path: string; userId: string | null; body: unknown }>;
  /** `GET /v1/chats` and `GET /v1/chats/:chatId/messages?after=`, answered from the fake's chats (set by the fake). */
  chatRoutes?: (userId: string, path: string, query: URLSearchParams) => unknown;
}

export interface FakeGateway {
  readonly url: string;
  /** `http://127.0.0.1:<port>`: the same port answers the HTTP API. */
  readonly httpUrl: string;
  readonly http: FakeHttpApi;
  readonly connections: FakeConnection[];
  /** Every frame any client sent. */
  readonly frames: Array<ClientFrame & { userId: string }>;
  readonly hooks: FakeGatewayHooks;
  /** Connection attempts per token. */
  readonly tokens: string[];
  /** Stored messages per chat, in seq order; `broadcast` chats are fanned out without inbox positions. */
  readonly chats: Map<
    string,
    {
      seq: number;
      members: string[];
      broadcast: boolean;
      messages: Array<{ seq: number; clientMessageId: string; by: string }>;
    }
  >;
  /** Every `ack` that carried `chats`, in order. */
  readonly chatAcks: ChatPositionsRecord[];
  /** Every `sync` that carried `chats`, in order. */
  readonly chatSyncs: ChatPositionsRecord[];
  /** Tokens refused at the upgrade (HTTP 401). */
  readonly refusedTokens: Set<string>;
  cursorOf(userId: string, deviceId: string): number;
  /** A device's stored position in a broadcast chat (the highest `ack.chats` seq), if it acked one. */
  chatPositionOf(userId: string, deviceId: string, chatId: string): number | undefined;
  inboxOf(userId: string): InboxFrame[];
  /** A broadcast chat's frames, in seq order. */
  broadcastLogOf(chatId: string): BroadcastFrame[];
  /** Appends a message to a chat (as `by`) and delivers it; returns its seq. */
  post(chatId: string, by: string, body: string): number;
  /** Appends a frame to a user's inbox without delivering it live. */
  appendSilently(userId: string, frame: UnplacedFrame): InboxFrame;
  /** Retention: the user's inbox no longer keeps positions up to `inboxSeq` (a replay from before names them in a syncGap). */
  expireInbox(userId: string, inboxSeq: number): void;
  /** Retention: the chat's history no longer keeps seqs up to `seq` (the history API names them in `expired`). */
  expireHistory(chatId: string, seq: number): void;
  createChat(chatId: string, members: string[], options?: { broadcast?: boolean }): void;
  sendRaw(conn: FakeConnection, frame: ServerFrame | Record<string, unknown>): void;
  close(): Promise<void>;
}

/** Tokens are `userId.deviceId`. */
export function fakeToken(userId: string, deviceId = 'd1'): string {
  return `${userId}.${deviceId}`;
}

export async function startFakeGateway(): Promise<FakeGateway> {
  const http: FakeHttpApi = { settings: new Map(), devices: new Map(), requests: [] };
  const server = createServer((req, res) => void handleHttp(http, req, res));
  const wss = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const inboxes = new Map<string, InboxFrame[]>();
  const cursors = new Map<string, number>();
  const broadcastLogs = new Map<string, BroadcastFrame[]>();
  /** Per device (`user/device`): chatId → stored broadcast position. */
  const chatPositions = new Map<string, Map<string, number>>();
  const chatAcks: ChatPositionsRecord[] = [];
  const chatSyncs: ChatPositionsRecord[] = [];
  const chats: FakeGateway['chats'] = new Map();
  const answered = new Map<string, ServerFrame>();
  const connections: FakeConnection[] = [];
  const frames: FakeGateway['frames'] = [];
  const hooks: FakeGatewayHooks = {};
  const tokens: string[] = [];
  const refusedTokens = new Set<string>();
  /** Each inbox chat's frames by seq (its chat log), for the history API. */
  const histories = new Map<string, UnplacedFrame[]>();
  const inboxExpiredThrough = new Map<string, number>();
  const historyExpiredThrough = new Map<string, number>();

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
  const broadcastLog = (chatId: string): BroadcastFrame[] => {
    let list = broadcastLogs.get(chatId);
    if (!list) broadcastLogs.set(chatId, (list = []));
    return list;
  };
  const positionsOf = (userId: string, deviceId: string): Map<string, number> => {
    let positions = chatPositions.get(`${userId}/${deviceId}`);
    if (!positions) chatPositions.set(`${userId}/${deviceId}`, (positions = new Map()));
    return positions;
  };
  const sendBroadcast = (conn: FakeConnection, frame: BroadcastFrame): void => {
    if (conn.socket.readyState !== WebSocket.OPEN) return;
    sendFrame(conn, frame);
    hooks.afterBroadcastSent?.(frame, conn);
  };
  /** An inbox chat's frame goes to each member's inbox; a broadcast chat's once to its log, then to members' connections. */
  const deliver = (chatId: string, frame: UnplacedFrame): void => {
    const chat = chats.get(chatId);
    if (!chat) throw new Error(`no chat ${chatId}`);
    if (!chat.broadcast) {
      if (frame.type !== 'newAttachment') histories.set(chatId, [...(histories.get(chatId) ?? []), frame]);
      for (const member of chat.members) {
        const full = append(member, frame);
        for (const conn of connections.filter((c) => c.userId === member)) {
          if (hooks.deliverLive?.(full, conn) ?? true) sendInbox(conn, full);
        }
      }
      return;
    }
    broadcastLog(chatId).push(frame);
    for (const conn of connections.filter((c) => chat.members.includes(c.userId))) {
      if (hooks.deliverBroadcastLive?.(frame, conn) ?? true) sendBroadcast(conn, frame);
    }
  };
  /** The inbox after `after`, then each broadcast chat after its position, then syncDone. */
  const replay = (conn: FakeConnection, after: number, chatsAfter: ReadonlyMap<string, number>): void => {
    const expired = inboxExpiredThrough.get(conn.userId) ?? 0;
    if (expired > after) {
      sendFrame(conn, { type: 'syncGap', fromInboxSeq: after + 1, toInboxSeq: expired });
      after = expired;
    }
    for (const frame of inbox(conn.userId).filter((f) => f.inboxSeq > after)) sendInbox(conn, frame);
    for (const [chatId, seq] of chatsAfter) {
      if (!chats.get(chatId)?.members.includes(conn.userId)) continue;
      for (const frame of broadcastLog(chatId).filter((f) => f.seq > seq)) sendBroadcast(conn, frame);
    }
    sendFrame(conn, { type: 'syncDone', upToInboxSeq: inbox(conn.userId).length });
  };
  /** On connect: every broadcast chat of the user, after the device's stored position (from the start without one). */
  const storedChatPositions = (conn: FakeConnection): Map<string, number> => {
    const stored = positionsOf(conn.userId, conn.deviceId);
    const result = new Map<string, number>();
    for (const [chatId, chat] of chats) {
      if (chat.broadcast && chat.members.includes(conn.userId)) result.set(chatId, stored.get(chatId) ?? 0);
    }
    return result;
  };
  const post = (chatId: string, by: string, body: string, clientMessageId = `${by}-${Math.random()}`): number => {
    const chat = chats.get(chatId);
    if (!chat) throw new Error(`no chat ${chatId}`);
    const seq = ++chat.seq;
    chat.messages.push({ seq, clientMessageId, by });
    deliver(chatId, {
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
    return seq;
  };
  const createChat = (chatId: string, members: string[], options: { broadcast?: boolean } = {}): void => {
    chats.set(chatId, { seq: 1, members, broadcast: options.broadcast ?? false, messages: [] });
    deliver(chatId, {
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
        case 'ack': {
          cursors.set(`${userId}/${deviceId}`, Math.max(frame.upToInboxSeq, cursors.get(`${userId}/${deviceId}`) ?? 0));
          if (frame.chats === undefined) return;
          chatAcks.push({ userId, deviceId, chats: frame.chats });
          const positions = positionsOf(userId, deviceId);
          for (const { chatId, seq } of frame.chats) positions.set(chatId, Math.max(seq, positions.get(chatId) ?? 0));
          return;
        }
        case 'sync': {
          if (frame.chats !== undefined) chatSyncs.push({ userId, deviceId, chats: frame.chats });
          const chatsAfter = new Map((frame.chats ?? []).map(({ chatId, seq }) => [chatId, seq] as const));
          return replay(conn, frame.fromInboxSeq ?? cursors.get(`${userId}/${deviceId}`) ?? 0, chatsAfter);
        }
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
          // As ingest does: a send naming an earlier message of its sender waits until that one is stored.
          if (
            frame.type === 'send' &&
            frame.afterClientMessageId !== undefined &&
            !answered.has(`${userId}/${frame.afterClientMessageId}`)
          ) {
            return sendFrame(conn, {
              type: 'reject',
              requestId: frame.requestId,
              chatId: frame.chatId,
              clientMessageId: frame.clientMessageId,
              code: 'CM_ERR_CHAT_OUT_OF_ORDER',
              message: 'the earlier message is not stored yet',
              retriable: true,
            });
          }
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
    sendFrame(conn, { type: 'hello', protocol: PROTOCOL_VERSION, userId, deviceId, cursor, serverTimeMs: Date.now() });
    replay(conn, cursor, storedChatPositions(conn));
  });

  http.chatRoutes = (userId, path, query) => {
    if (path === '/v1/chats') {
      return {
        chats: [...chats]
          .filter(([, chat]) => chat.members.includes(userId) && !chat.broadcast)
          .map(([chatId]) => ({ chatId, joinedSeq: 1 })),
      };
    }
    const chatId = decodeURIComponent(/^\/v1\/chats\/([^/]+)\/messages$/.exec(path)?.[1] ?? '');
    if (!chats.get(chatId)?.members.includes(userId)) return undefined;
    let after = Number(query.get('after') ?? 0);
    const limit = Number(query.get('limit') ?? 50);
    const gone = historyExpiredThrough.get(chatId) ?? 0;
    const expired = gone > after ? { fromSeq: after + 1, toSeq: gone } : undefined;
    if (expired !== undefined) after = gone;
    const rows = (histories.get(chatId) ?? []).filter((f) => f.seq > after);
    const page = rows.slice(0, limit);
    return {
      chatId,
      events: page,
      hasMore: rows.length > limit,
      ...(expired === undefined ? {} : { expired }),
      lastSeq: page.at(-1)?.seq ?? after,
    };
  };

  return {
    url: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    http,
    connections,
    frames,
    hooks,
    tokens,
    chats,
    chatAcks,
    chatSyncs,
    refusedTokens,
    cursorOf: (userId, deviceId) => cursors.get(`${userId}/${deviceId}`) ?? 0,
    chatPositionOf: (userId, deviceId, chatId) => chatPositions.get(`${userId}/${deviceId}`)?.get(chatId),
    inboxOf: inbox,
    broadcastLogOf: broadcastLog,
    post: (chatId, by, body) => post(chatId, by, body),
    appendSilently: append,
    expireInbox: (userId, inboxSeq) => inboxExpiredThrough.set(userId, inboxSeq),
    expireHistory: (chatId, seq) => historyExpiredThrough.set(chatId, seq),
    createChat,
    sendRaw: sendFrame,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The gateway's settings, devices and push routes, as docs/protocol.md describes them (tokens are `user.device`). */
async function handleHttp(http: FakeHttpApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const method = req.method ?? 'GET';
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const [userId = null, deviceId = null] = token === undefined ? [] : token.split('.');
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = text;
  }
  http.requests.push({ method, path, userId, body });
  const json = (status: number, value: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  };
  if (userId === null) return json(401, { code: 'CM_ERR_AUTH_MISSING_TOKEN', message: 'no bearer token' });
  const settings = http.settings.get(userId) ?? { readReceipts: true, presenceVisible: true };
  const devices = http.devices.get(userId) ?? [];
  if (method === 'GET' && path.startsWith('/v1/chats')) {
    const answer = http.chatRoutes?.(userId, path, new URL(req.url ?? '/', 'http://x').searchParams);
    return answer === undefined
      ? json(404, { code: 'CM_ERR_CHAT_NOT_FOUND', message: 'no such chat' })
      : json(200, answer);
  }
  if (method === 'GET' && path === '/v1/settings') return json(200, settings);
  if (method === 'PUT' && path === '/v1/settings') {
    const change = body as { readReceipts?: unknown; presenceVisible?: unknown } | null;
    if (
      change === null ||
      typeof change !== 'object' ||
      Object.values(change).some((v) => typeof v !== 'boolean') ||
      Object.keys(change).length === 0
    ) {
      return json(400, { code: 'CM_ERR_GATEWAY_BAD_REQUEST', message: 'set readReceipts or presenceVisible' });
    }
    http.settings.set(userId, { ...settings, ...(change as Partial<typeof settings>) });
    return json(202, { requestId: `http:${http.requests.length}` });
  }
  if (method === 'GET' && path === '/v1/devices') {
    return json(200, { maxDevices: 5, devices: devices.map((d) => ({ ...d, current: d.deviceId === deviceId })) });
  }
  const removal = /^\/v1\/devices\/([^/]+)$/.exec(path);
  if (method === 'DELETE' && removal) {
    const id = decodeURIComponent(removal[1]!);
    if (!devices.some((d) => d.deviceId === id)) {
      return json(404, { code: 'CM_ERR_DEVICE_UNKNOWN', message: `no device ${id}` });
    }
    http.devices.set(
      userId,
      devices.filter((d) => d.deviceId !== id),
    );
    return json(202, { requestId: `http:${http.requests.length}` });
  }
  if ((method === 'PUT' || method === 'DELETE') && path === '/v1/push/channel') {
    return json(202, { requestId: `http:${http.requests.length}` });
  }
  if (method === 'GET' && path === '/v1/push/inbox') {
    return json(200, { wakeUps: [{ deviceId, chatId: 'c-1', badge: 2, atMs: 1, requestId: 'r1' }] });
  }
  return json(404, { code: 'CM_ERR_GATEWAY_ROUTE_NOT_FOUND', message: 'no such route' });
}
