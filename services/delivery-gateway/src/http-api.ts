import { randomUUID } from 'node:crypto';
import { isChatmeshError } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import { ID_PATTERN } from '@chatmesh/protocol';
import { TOPICS, type PushChannelCommand } from '@chatmesh/schemas';
import { writtenHeadOf, type ChatStore, type PushChannel } from '@chatmesh/store';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { z } from 'zod';
import { registerAttachmentRoutes, type AttachmentRoutesDeps } from './attachment-routes.js';
import { accountEvent, type FrameRecord } from './frame-commands.js';
import {
  devTokenBodySchema,
  historyQuerySchema,
  MAX_HISTORY_PAGE,
  MAX_PUSH_INBOX_PAGE,
  pushChannelBodySchema,
  pushInboxQuerySchema,
  settingsBodySchema,
} from './http-schemas.js';
import { registerKeyRoutes, type IdentityChange } from './key-routes.js';
import { devTokensEnabled } from './gateway-config.js';
import type { GatewaySettings } from './gateway-server.js';
import type { InboxRenderer } from './inbox-renderer.js';
import { renderChatEvent } from './inbox-renderer.js';
import {
  bearerToken,
  CHAT_PAGE_CSP,
  pending,
  readBody,
  send,
  sendError,
  sendJson,
  type PendingResponse,
} from './internal/http.js';
import { parseQuery } from './internal/query.js';
import { registerOpenApiRoute } from './openapi-route.js';
import type { GATEWAY_METRICS } from './metrics.js';
import { signDevToken, type TokenVerifier, type VerifiedToken } from './token-verifier.js';

/** The static chat page of embedded mode. */
export interface ChatPageAssets {
  readonly html: string;
  readonly js: string;
}

/** What the HTTP routes need. */
export interface HttpApiDeps {
  readonly mode: 'embedded' | 'stack';
  readonly settings: GatewaySettings;
  readonly verifier: TokenVerifier;
  readonly store: ChatStore;
  readonly renderer: InboxRenderer;
  readonly logger: Logger;
  readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
  readonly chatPage?: () => Promise<ChatPageAssets | null>;
  readonly gatewayId: string;
  /** DEVICES_CONFIG's limit, shown by `GET /v1/devices`. */
  readonly maxDevicesPerUser: number;
  /** Online devices (the online flag of `GET /v1/devices`). */
  readonly presence: PresenceRegistry;
  /** Produces a record (device removals and privacy changes go to presence.events, push channels to push.registrations). */
  readonly produce: (record: FrameRecord) => Promise<void>;
  /** The attachment API (absent: its routes answer 404). */
  readonly attachments?: AttachmentRoutesDeps;
  /** Tells the user's contacts that a device's identity key changed (the key API calls it after the upload). */
  readonly onIdentityChanged?: (change: IdentityChange) => Promise<void>;
}

const MAX_SETTINGS_BODY_BYTES = 1024;
const MAX_PUSH_CHANNEL_BODY_BYTES = 8192;
const DEFAULT_HISTORY_PAGE = 50;
const MAX_DEV_TOKEN_BODY_BYTES = 4096;

function notFound(state: PendingResponse, message = 'no such route'): void {
  sendError(state, 404, { code: 'CM_ERR_GATEWAY_ROUTE_NOT_FOUND', message });
}

function badRequest(state: PendingResponse, message: string): void {
  sendError(state, 400, { code: 'CM_ERR_GATEWAY_BAD_REQUEST', message });
}

/** A path parameter, percent-decoded; null when its encoding is malformed (`%ZZ`, a lone `%`, bad UTF-8). */
function pathParam(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** What a development token answer says about itself, so nobody mistakes the endpoint for a login. */
export const DEV_TOKEN_NOTICE =
  'development only: this endpoint signs a token for any user id without a password; it is served in embedded mode on loopback (CHATMESH_GATEWAY_DEV_TOKENS) and never in stack mode';

/**
 * Registers the HTTP API on the gateway's uWS app: `GET /v1/chats`, `GET /v1/chats/:chatId/messages`,
 * `GET /v1/devices`, `DELETE /v1/devices/:deviceId`, `PUT|DELETE|GET /v1/push/channel`, `GET /v1/push/inbox`,
 * `GET /v1/settings`, `PUT /v1/settings`, the attachment API ({@link registerAttachmentRoutes}), the key directory
 * ({@link registerKeyRoutes}),
 * `POST /v1/dev/token` (embedded only, loopback unless configured), `GET /v1/openapi.json` (this route table as
 * OpenAPI: http-routes.ts), `GET /health` (for load balancers), and in
 * embedded mode the chat page (`GET /`, `GET /app.js`). Everything else is a JSON 404. `/ready` and `/metrics`
 * are the ops server's (CHATMESH_HTTP_PORT), never this public port's.
 */
export function registerHttpApi(app: TemplatedApp, deps: HttpApiDeps): void {
  const { store, metrics, logger } = deps;
  const devTokens = devTokensEnabled(deps.mode, deps.settings.devTokens, deps.settings.host);

  /** The answer to a request that failed unexpectedly: logged (a 500 nobody sees is a bug nobody fixes), then 500. */
  const failed = (
    state: PendingResponse,
    route: string,
    error: unknown,
    message = 'the request failed; retry',
  ): void => {
    logger.error({ err: error, route }, 'an HTTP request failed');
    sendError(state, 500, { code: isChatmeshError(error) ? error.code : 'CM_ERR_COMMON_INTERNAL', message });
  };

  /** Runs an authenticated handler: 401 with the CM_ERR_AUTH_* code when the bearer token is refused. */
  const authed =
    (
      handler: (state: PendingResponse, caller: VerifiedToken, req: RequestInfo) => Promise<void>,
      options: { bodyBytes?: number } = {},
    ) =>
    (res: HttpResponse, req: HttpRequest): void => {
      const state = pending(res);
      const route = `${req.getMethod().toUpperCase()} ${req.getUrl()}`;
      // HttpRequest is only valid until the handler returns: copy what the route needs first.
      const info: RequestInfo = {
        query: new URLSearchParams(req.getQuery() ?? ''),
        param0: req.getParameter(0) ?? '',
        // uWS hands the body only to a reader attached before the handler returns.
        body:
          options.bodyBytes === undefined ? null : readBody(state, options.bodyBytes, req.getHeader('content-length')),
      };
      const token = bearerToken(req);
      void (async () => {
        if (token === null) {
          metrics.gatewayAuthFailuresTotal.inc({ code: 'CM_ERR_AUTH_MISSING_TOKEN' });
          return sendError(state, 401, { code: 'CM_ERR_AUTH_MISSING_TOKEN', message: 'no bearer token' });
        }
        let caller: VerifiedToken;
        try {
          caller = await deps.verifier.verify(token);
        } catch (error) {
          const code = isChatmeshError(error) ? error.code : 'CM_ERR_AUTH_INVALID_TOKEN';
          metrics.gatewayAuthFailuresTotal.inc({ code });
          return sendError(state, 401, { code, message: error instanceof Error ? error.message : 'invalid token' });
        }
        // A removed device's token stays valid until it expires: the device list is checked here as at the
        // WebSocket door, or a lost phone could still read the chat list, the history and change settings.
        const devices = await store.devices.list(caller.userId);
        if (devices.some((d) => d.deviceId === caller.deviceId && d.removedAtMs !== null)) {
          metrics.gatewayAuthFailuresTotal.inc({ code: 'CM_ERR_DEVICE_REMOVED' });
          return sendError(state, 403, {
            code: 'CM_ERR_DEVICE_REMOVED',
            message: 'this device was removed from the account; sign in again as a new device',
          });
        }
        await handler(state, caller, info);
      })().catch((error: unknown) => failed(state, route, error));
    };

  app.get(
    '/v1/chats',
    authed(async (state, caller) => {
      const memberships = await store.directory.chatsOfUser(caller.userId);
      const chats = await Promise.all(
        memberships.map(async (m) => {
          const chat = await store.directory.getChat(m.chatId);
          return chat === null
            ? null
            : {
                chatId: chat.chatId,
                kind: chat.kind,
                name: chat.name,
                pictureAttachmentId: chat.pictureRef,
                role: m.role,
                joinedSeq: m.joinedSeq,
                createdAtMs: chat.createdAtMs,
                updatedAtMs: chat.updatedAtMs,
              };
        }),
      );
      sendJson(state, 200, { chats: chats.filter((c) => c !== null) });
    }),
  );

  app.get(
    '/v1/chats/:chatId/messages',
    authed(async (state, caller, info) => {
      const chatId = pathParam(info.param0);
      if (chatId === null) return badRequest(state, 'the chat id in the path is not valid percent-encoding');
      const query = parseQuery(historyQuerySchema, info.query);
      if (!query.success) {
        const both = query.error.issues.some((issue) => issue.code === 'custom');
        return badRequest(
          state,
          both
            ? 'pass before or after, not both'
            : `before and after are chat sequence numbers, limit is 1-${MAX_HISTORY_PAGE}`,
        );
      }
      const { before, after, limit = DEFAULT_HISTORY_PAGE } = query.data;
      const membership = ID_PATTERN.test(chatId)
        ? (await store.directory.chatsOfUser(caller.userId)).find((m) => m.chatId === chatId)
        : undefined;
      // A non-member learns nothing, not even that the chat exists: the same 404 as an unknown chat.
      if (membership === undefined) {
        return sendError(state, 404, { code: 'CM_ERR_CHAT_NOT_FOUND', message: 'no such chat' });
      }
      // Members see the chat from the moment they joined.
      const from = membership.joinedSeq;
      let rows;
      let expired: { fromSeq: number; toSeq: number } | null = null;
      if (after !== undefined) {
        const start = Math.max(after, from - 1);
        rows = await store.chatLog.readAfter(chatId, start, limit + 1);
        // History older than the chat log's retention is gone: named, so the client reports it, then skipped.
        if (rows.length === 0) expired = await expiredAfter(store, chatId, start);
        if (expired !== null) rows = await store.chatLog.readAfter(chatId, expired.toSeq, limit + 1);
      } else {
        // readBefore walks down from its bound (bucket by bucket in Cassandra), so start at the real tail.
        const bound = Math.min(before ?? Number.MAX_SAFE_INTEGER, (await latestSeq(store, chatId)) + 1);
        rows = (await store.chatLog.readBefore(chatId, bound, limit + 1)).filter((row) => row.seq >= from).reverse();
      }
      const hasMore = rows.length > limit;
      const page = after !== undefined ? rows.slice(0, limit) : rows.slice(rows.length > limit ? 1 : 0);
      const target = { userId: caller.userId, deviceId: caller.deviceId };
      const events = [];
      for (const row of page) {
        const [frame] = renderChatEvent(await deps.renderer.decodeEvent(row.payload), 0, target);
        if (frame === undefined) continue;
        const { inboxSeq: _inboxSeq, ...event } = frame as typeof frame & { inboxSeq?: number };
        events.push(event);
      }
      sendJson(state, 200, {
        chatId,
        events,
        hasMore,
        ...(expired === null ? {} : { expired }),
        // The last chat seq this page covers (events that show nothing included): the next page's `after`.
        ...(after === undefined ? {} : { lastSeq: page.at(-1)?.seq ?? expired?.toSeq ?? Math.max(after, from - 1) }),
      });
    }),
  );

  const jsonBody = async <T>(
    state: PendingResponse,
    info: RequestInfo,
    schema: z.ZodType<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> => {
    const body = await info.body;
    if (body === null || body === undefined) {
      badRequest(state, 'the body is missing or too large');
      return { ok: false };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch {
      badRequest(state, 'the body is not JSON');
      return { ok: false };
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      badRequest(state, `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
      return { ok: false };
    }
    return { ok: true, value: parsed.data };
  };

  /** Produces an account change for presence and answers 202 with its request id. */
  const accepted = async (
    state: PendingResponse,
    caller: VerifiedToken,
    kind: 'device_removal' | 'privacy_change',
    change: Parameters<typeof accountEvent>[3],
  ): Promise<void> => {
    const requestId = `http:${randomUUID()}`;
    await deps.produce(
      accountEvent(
        { userId: caller.userId, deviceId: caller.deviceId, gatewayId: deps.gatewayId },
        requestId,
        Date.now(),
        change,
      ),
    );
    metrics.gatewayAccountChangesTotal.inc({ kind });
    sendJson(state, 202, { requestId });
  };

  app.get(
    '/v1/devices',
    authed(async (state, caller) => {
      const [devices, online] = await Promise.all([
        store.devices.list(caller.userId),
        deps.presence.onlineDevices(caller.userId).catch(() => []),
      ]);
      const onlineIds = new Set(online.map((d) => d.deviceId));
      sendJson(state, 200, {
        maxDevices: deps.maxDevicesPerUser,
        devices: devices
          .filter((d) => d.removedAtMs === null)
          .map((d) => ({
            deviceId: d.deviceId,
            registeredAtMs: d.registeredAtMs,
            online: onlineIds.has(d.deviceId),
            current: d.deviceId === caller.deviceId,
          })),
      });
    }),
  );

  app.del(
    '/v1/devices/:deviceId',
    authed(async (state, caller, info) => {
      const deviceId = pathParam(info.param0);
      if (deviceId === null) return badRequest(state, 'the device id in the path is not valid percent-encoding');
      const listed = ID_PATTERN.test(deviceId)
        ? (await store.devices.list(caller.userId)).find((d) => d.deviceId === deviceId)
        : undefined;
      if (listed === undefined) {
        return sendError(state, 404, {
          code: 'CM_ERR_DEVICE_UNKNOWN',
          message: `no device ${deviceId} on this account`,
        });
      }
      // Removing a removed device again is accepted: presence keeps the first removal time.
      await accepted(state, caller, 'device_removal', { removedDeviceId: deviceId });
    }),
  );

  /** The caller's device, unless it was removed (a removed device gets no push channel). */
  const currentDevice = async (state: PendingResponse, caller: VerifiedToken): Promise<boolean> => {
    const listed = (await store.devices.list(caller.userId)).find((d) => d.deviceId === caller.deviceId);
    if (listed?.removedAtMs != null) {
      sendError(state, 403, { code: 'CM_ERR_DEVICE_REMOVED', message: `device ${caller.deviceId} was removed` });
      return false;
    }
    return true;
  };

  /** Produces a push channel change for the caller's device (push applies it) and answers 202. */
  const pushChannelChange = async (
    state: PendingResponse,
    caller: VerifiedToken,
    change: PushChannelCommand['change'],
    kind: 'push_channel_register' | 'push_channel_unregister',
  ): Promise<void> => {
    const requestId = `http:${randomUUID()}`;
    const value: PushChannelCommand = {
      userId: caller.userId,
      deviceId: caller.deviceId,
      requestId,
      atMs: Date.now(),
      change,
    };
    await deps.produce({ topic: TOPICS.pushRegistrations.name, key: caller.userId, value });
    metrics.gatewayAccountChangesTotal.inc({ kind });
    sendJson(state, 202, { requestId });
  };

  app.put(
    '/v1/push/channel',
    authed(
      async (state, caller, info) => {
        const body = await jsonBody(state, info, pushChannelBodySchema);
        if (!body.ok || !(await currentDevice(state, caller))) return;
        const channel = body.value;
        const none = { token: null, apnsTopic: null, apnsEnvironment: null, endpoint: null, p256dh: null, auth: null };
        const registration =
          channel.provider === 'fcm'
            ? { ...none, provider: 'FCM' as const, token: channel.token }
            : channel.provider === 'apns'
              ? {
                  ...none,
                  provider: 'APNS' as const,
                  token: channel.token.toLowerCase(),
                  apnsTopic: channel.topic,
                  apnsEnvironment: channel.environment,
                }
              : channel.provider === 'web_push'
                ? {
                    ...none,
                    provider: 'WEB_PUSH' as const,
                    endpoint: channel.subscription.endpoint,
                    p256dh: channel.subscription.keys.p256dh,
                    auth: channel.subscription.keys.auth,
                  }
                : { ...none, provider: 'INBOX' as const };
        await pushChannelChange(
          state,
          caller,
          { 'chatmesh.push.RegisterPushChannel': registration },
          'push_channel_register',
        );
      },
      { bodyBytes: MAX_PUSH_CHANNEL_BODY_BYTES },
    ),
  );

  app.del(
    '/v1/push/channel',
    authed(async (state, caller) => {
      await pushChannelChange(
        state,
        caller,
        { 'chatmesh.push.UnregisterPushChannel': { reason: 'client_request' } },
        'push_channel_unregister',
      );
    }),
  );

  app.get(
    '/v1/push/channel',
    authed(async (state, caller) => {
      const record = (await store.pushChannels.list(caller.userId)).find((c) => c.deviceId === caller.deviceId);
      sendJson(state, 200, {
        channel: record ? publicChannel(record.channel) : null,
        registeredAtMs: record?.registeredAtMs ?? null,
      });
    }),
  );

  app.get(
    '/v1/push/inbox',
    authed(async (state, caller, info) => {
      const query = parseQuery(pushInboxQuerySchema, info.query);
      if (!query.success) return badRequest(state, `limit must be 1-${MAX_PUSH_INBOX_PAGE}`);
      const { limit = MAX_PUSH_INBOX_PAGE } = query.data;
      sendJson(state, 200, { wakeUps: await store.pushInbox.list(caller.userId, limit) });
    }),
  );

  app.get(
    '/v1/settings',
    authed(async (state, caller) => {
      const settings = await store.settings.get(caller.userId);
      sendJson(state, 200, { readReceipts: settings.readReceipts, presenceVisible: settings.presenceVisible });
    }),
  );

  app.put(
    '/v1/settings',
    authed(
      async (state, caller, info) => {
        const body = await jsonBody(state, info, settingsBodySchema);
        if (!body.ok) return;
        await accepted(state, caller, 'privacy_change', {
          readReceipts: body.value.readReceipts ?? null,
          presenceVisible: body.value.presenceVisible ?? null,
        });
      },
      { bodyBytes: MAX_SETTINGS_BODY_BYTES },
    ),
  );

  app.post('/v1/dev/token', (res, req) => {
    const state = pending(res);
    if (deps.mode !== 'embedded') return notFound(state, 'development tokens exist in embedded mode only');
    if (!devTokens) {
      return notFound(
        state,
        'development tokens are off: served only in embedded mode on a loopback address (CHATMESH_GATEWAY_DEV_TOKENS)',
      );
    }
    const reading = readBody(state, MAX_DEV_TOKEN_BODY_BYTES, req.getHeader('content-length'));
    void (async () => {
      const body = await reading;
      if (body === null) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return badRequest(state, 'the body is not JSON');
      }
      const request = devTokenBodySchema.safeParse(parsed);
      if (!request.success) {
        return badRequest(state, 'expected {"userId": id, "deviceId": id} with ids of 1-128 of [A-Za-z0-9._:@-]');
      }
      const { userId, deviceId } = request.data;
      const { token, expiresAtMs } = await signDevToken({
        userId,
        deviceId,
        issuer: deps.settings.authIssuer,
        audience: deps.settings.authAudience,
        devSecret: deps.settings.authDevSecret,
      });
      sendJson(state, 200, { token, expiresAtMs, developmentOnly: true, notice: DEV_TOKEN_NOTICE });
    })().catch((error: unknown) => failed(state, 'POST /v1/dev/token', error, 'could not sign a token'));
  });

  if (deps.attachments !== undefined) registerAttachmentRoutes(app, deps.attachments, { authed, jsonBody });
  registerKeyRoutes(
    app,
    { store, ...(deps.onIdentityChanged === undefined ? {} : { onIdentityChanged: deps.onIdentityChanged }) },
    { authed, jsonBody },
  );

  registerOpenApiRoute(app);
  // Liveness for load balancers that can only probe the public port; readiness and metrics are on the ops port.
  app.get('/health', (res) => sendJson(pending(res), 200, { status: 'ok' }));

  const page = (pick: (assets: ChatPageAssets) => string, contentType: string) => (res: HttpResponse) => {
    const state = pending(res);
    if (deps.mode !== 'embedded' || deps.chatPage === undefined) return notFound(state);
    void deps
      .chatPage()
      .then((assets) =>
        assets === null
          ? notFound(state, 'the chat page is not built')
          : send(state, 200, pick(assets), contentType, { headers: [['content-security-policy', CHAT_PAGE_CSP]] }),
      )
      .catch((error: unknown) => failed(state, 'chat page', error, 'the chat page failed to build'));
  };
  app.get(
    '/',
    page((a) => a.html, 'text/html; charset=utf-8'),
  );
  app.get(
    '/app.js',
    page((a) => a.js, 'text/javascript; charset=utf-8'),
  );

  app.any('/*', (res) => notFound(pending(res)));
}

/** The chat's last sequence number: the head hint (which may lag, never lead) plus what follows it. */
/**
 * The rows right after `afterSeq` that expired (the chat log's retention), or null when the log goes on at
 * `afterSeq + 1` or ends there. Rows up to the head were written, so a missing one expired.
 */
async function expiredAfter(
  store: ChatStore,
  chatId: string,
  afterSeq: number,
): Promise<{ fromSeq: number; toSeq: number } | null> {
  const head = await latestSeq(store, chatId);
  if (head <= afterSeq) return null;
  const first = await store.chatLog.firstKeptAfter(chatId, afterSeq, head);
  if (first === afterSeq + 1) return null;
  return { fromSeq: afterSeq + 1, toSeq: first === null ? head : first - 1 };
}

async function latestSeq(store: ChatStore, chatId: string): Promise<number> {
  let last = await writtenHeadOf(store.chatLog, chatId);
  for (;;) {
    const rows = await store.chatLog.readAfter(chatId, last, 1000);
    if (rows.length === 0) return last;
    last = rows[rows.length - 1]!.seq;
  }
}

/** A channel as the API shows it back: a token is shortened (it is a credential of the device). */
function publicChannel(channel: PushChannel): Record<string, unknown> {
  const short = (value: string) => (value.length <= 12 ? value : `${value.slice(0, 8)}…`);
  switch (channel.provider) {
    case 'fcm':
      return { provider: 'fcm', token: short(channel.token) };
    case 'apns':
      return { provider: 'apns', token: short(channel.token), topic: channel.topic, environment: channel.environment };
    case 'web_push':
      return { provider: 'web_push', endpoint: new URL(channel.endpoint).origin };
    case 'inbox':
      return { provider: 'inbox' };
  }
}

interface RequestInfo {
  readonly query: URLSearchParams;
  readonly param0: string;
  /** The body, for routes that read one (null when it is larger than allowed). */
  readonly body: Promise<Buffer | null> | null;
}
