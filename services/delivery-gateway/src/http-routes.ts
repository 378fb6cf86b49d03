/**
 * The route table of the gateway's HTTP API: every route with its parameters, the schema its handler validates the
 * request with, and the schemas of its answers. The OpenAPI document is generated from it (openapi.ts), and a test
 * checks that every route here is served, so the document and the server cannot drift apart.
 */
import { LOCAL_BLOB_ROUTE } from '@chatmesh/attachments';
import type { z } from 'zod';
import {
  acceptedSchema,
  chatListSchema,
  completeBodySchema,
  deviceListSchema,
  devTokenBodySchema,
  devTokenSchema,
  downloadGrantSchema,
  healthSchema,
  historyPageSchema,
  historyQuerySchema,
  keyBundlesSchema,
  multipartBodySchema,
  multipartGrantSchema,
  partNumbersBodySchema,
  attachmentIdSchema,
  prekeyStatusSchema,
  presignedPartsSchema,
  pushChannelBodySchema,
  pushChannelStateSchema,
  pushInboxQuerySchema,
  pushInboxSchema,
  settingsBodySchema,
  settingsSchema,
  uploadBodySchema,
  uploadGrantSchema,
} from './http-schemas.js';
import { keysUploadSchema } from './key-routes.js';

/** How a route is authorized. */
export type RouteAuth =
  /** `Authorization: Bearer <JWT>` of a device (401 without a valid one, 403 for a removed device). */
  | 'bearer'
  /** Open (health, the document, the chat page, development tokens). */
  | 'none'
  /** The URL's own signature is the grant (embedded mode's local blob store). */
  | 'signed-url';

/** One successful answer. */
export interface RouteAnswer {
  readonly description: string;
  /** The JSON body's schema; absent for answers without a JSON body. */
  readonly schema?: z.ZodType;
  /** @default 'application/json' (with a schema) */
  readonly contentType?: string;
}

/** One route of the HTTP API. */
export interface HttpRoute {
  readonly method: 'get' | 'put' | 'post' | 'delete';
  /** uWebSockets.js pattern: `:name` path parameters, a trailing `*` for the rest of the path. */
  readonly path: string;
  readonly operationId: string;
  readonly tag:
    'websocket' | 'chats' | 'devices' | 'push' | 'settings' | 'attachments' | 'keys' | 'development' | 'service';
  readonly summary: string;
  readonly description?: string;
  readonly auth: RouteAuth;
  /** Served in embedded mode only (404 in stack mode). */
  readonly embeddedOnly?: boolean;
  /** Path parameters (name → what it is); a `*` tail is named `key`. */
  readonly pathParams?: Readonly<Record<string, string>>;
  /** The query parameters, validated with this schema (`parseQuery`). */
  readonly query?: z.ZodObject;
  /** The JSON body, validated with this schema. */
  readonly body?: z.ZodType;
  /** Successful answers by status. */
  readonly answers: Readonly<Record<number, RouteAnswer>>;
  /** Refusals by status (the body is the error body, `{code, message}`), beyond the auth ones of `bearer`. */
  readonly refusals?: Readonly<Record<number, string>>;
}

const BAD_REQUEST = 'The request is malformed (CM_ERR_GATEWAY_BAD_REQUEST): nothing changed.';
const ATTACHMENT_REFUSALS = {
  400: 'CM_ERR_ATTACHMENT_INVALID_REQUEST or a malformed body.',
  403: 'CM_ERR_ATTACHMENT_NOT_OWNER.',
  404: 'CM_ERR_ATTACHMENT_NOT_FOUND (also when the attachment API is off).',
  409: 'CM_ERR_ATTACHMENT_NOT_UPLOADED or CM_ERR_ATTACHMENT_MISMATCH.',
  410: 'CM_ERR_ATTACHMENT_EXPIRED.',
  413: 'CM_ERR_ATTACHMENT_TOO_LARGE.',
  415: 'CM_ERR_ATTACHMENT_TYPE_NOT_ALLOWED.',
  429: 'CM_ERR_ATTACHMENT_RATE_LIMITED (with retryAfterMs).',
} as const;
const ATTACHMENT_ID = { attachmentId: 'The id the upload request returned.' };

/** Every route of the public port, in the order the document lists them. */
export const HTTP_ROUTES: readonly HttpRoute[] = [
  {
    method: 'get',
    path: '/v1/ws',
    operationId: 'openWebSocket',
    tag: 'websocket',
    summary: 'Upgrades to a WebSocket that speaks the client protocol',
    description:
      'The frames are described in docs/websocket-asyncapi.json (AsyncAPI) and explained in docs/protocol.md; the ' +
      'first one is `hello`.',
    auth: 'bearer',
    answers: { 101: { description: 'Switching Protocols: the connection is a WebSocket.' } },
    refusals: {
      403: 'CM_ERR_DEVICE_REMOVED, or CM_ERR_DEVICE_LIMIT for a new device past the limit.',
      503: 'CM_ERR_COMMON_SHUTTING_DOWN: the gateway is draining; reconnect elsewhere.',
    },
  },
  {
    method: 'get',
    path: '/v1/chats',
    operationId: 'listChats',
    tag: 'chats',
    summary: "The caller's chats",
    auth: 'bearer',
    answers: { 200: { description: 'Every chat the caller is a member of.', schema: chatListSchema } },
  },
  {
    method: 'get',
    path: '/v1/chats/:chatId/messages',
    operationId: 'chatHistory',
    tag: 'chats',
    summary: "A page of a chat's history",
    description:
      'Members see the chat from the moment they joined; a non-member gets the same 404 as an unknown chat. Events ' +
      'are the chat frames of the WebSocket protocol without inboxSeq.',
    auth: 'bearer',
    pathParams: { chatId: 'The chat.' },
    query: historyQuerySchema,
    answers: { 200: { description: 'The page, oldest event first.', schema: historyPageSchema } },
    refusals: { 400: BAD_REQUEST, 404: 'CM_ERR_CHAT_NOT_FOUND: no such chat, or the caller is not a member.' },
  },
  {
    method: 'get',
    path: '/v1/devices',
    operationId: 'listDevices',
    tag: 'devices',
    summary: "The caller's devices",
    auth: 'bearer',
    answers: { 200: { description: 'The current (not removed) devices.', schema: deviceListSchema } },
  },
  {
    method: 'delete',
    path: '/v1/devices/:deviceId',
    operationId: 'removeDevice',
    tag: 'devices',
    summary: 'Removes a device from the account',
    description: 'Its connections close with 4011 DEVICE_REMOVED; its token is refused from then on.',
    auth: 'bearer',
    pathParams: { deviceId: 'A device of the caller.' },
    answers: { 202: { description: 'Accepted: presence applies it.', schema: acceptedSchema } },
    refusals: { 400: BAD_REQUEST, 404: 'CM_ERR_DEVICE_UNKNOWN.' },
  },
  {
    method: 'put',
    path: '/v1/push/channel',
    operationId: 'registerPushChannel',
    tag: 'push',
    summary: "Registers where the caller's device gets wake-ups (docs/push.md)",
    auth: 'bearer',
    body: pushChannelBodySchema,
    answers: { 202: { description: 'Accepted: the push service applies it.', schema: acceptedSchema } },
    refusals: { 400: BAD_REQUEST },
  },
  {
    method: 'delete',
    path: '/v1/push/channel',
    operationId: 'unregisterPushChannel',
    tag: 'push',
    summary: "Removes the caller's device's push channel",
    auth: 'bearer',
    answers: { 202: { description: 'Accepted: the push service applies it.', schema: acceptedSchema } },
  },
  {
    method: 'get',
    path: '/v1/push/channel',
    operationId: 'getPushChannel',
    tag: 'push',
    summary: "The caller's device's push channel",
    auth: 'bearer',
    answers: { 200: { description: 'The channel, or null.', schema: pushChannelStateSchema } },
  },
  {
    method: 'get',
    path: '/v1/push/inbox',
    operationId: 'listPushInbox',
    tag: 'push',
    summary: "Wake-ups of the local push inbox (embedded mode's provider), newest first",
    auth: 'bearer',
    query: pushInboxQuerySchema,
    answers: { 200: { description: 'The wake-ups.', schema: pushInboxSchema } },
    refusals: { 400: BAD_REQUEST },
  },
  {
    method: 'get',
    path: '/v1/settings',
    operationId: 'getSettings',
    tag: 'settings',
    summary: "The caller's privacy settings",
    auth: 'bearer',
    answers: { 200: { description: 'The settings.', schema: settingsSchema } },
  },
  {
    method: 'put',
    path: '/v1/settings',
    operationId: 'updateSettings',
    tag: 'settings',
    summary: 'Changes read receipts and presence visibility',
    auth: 'bearer',
    body: settingsBodySchema,
    answers: { 202: { description: 'Accepted: presence applies it.', schema: acceptedSchema } },
    refusals: { 400: BAD_REQUEST },
  },
  {
    method: 'post',
    path: '/v1/attachments',
    operationId: 'requestUpload',
    tag: 'attachments',
    summary: 'A presigned upload (docs/attachments.md)',
    auth: 'bearer',
    body: uploadBodySchema,
    answers: { 201: { description: 'The attachment id and its presigned PUT.', schema: uploadGrantSchema } },
    refusals: ATTACHMENT_REFUSALS,
  },
  {
    method: 'post',
    path: '/v1/attachments/multipart',
    operationId: 'requestMultipartUpload',
    tag: 'attachments',
    summary: 'Starts a multipart upload',
    auth: 'bearer',
    body: multipartBodySchema,
    answers: { 201: { description: 'The attachment id and its parts.', schema: multipartGrantSchema } },
    refusals: ATTACHMENT_REFUSALS,
  },
  {
    method: 'post',
    path: '/v1/attachments/:attachmentId/parts',
    operationId: 'presignParts',
    tag: 'attachments',
    summary: 'Presigned PUTs of some parts of a multipart upload',
    auth: 'bearer',
    pathParams: ATTACHMENT_ID,
    body: partNumbersBodySchema,
    answers: { 200: { description: 'One presigned PUT per part.', schema: presignedPartsSchema } },
    refusals: ATTACHMENT_REFUSALS,
  },
  {
    method: 'post',
    path: '/v1/attachments/:attachmentId/complete',
    operationId: 'completeMultipartUpload',
    tag: 'attachments',
    summary: 'Completes a multipart upload',
    auth: 'bearer',
    pathParams: ATTACHMENT_ID,
    body: completeBodySchema,
    answers: { 200: { description: 'Completed.', schema: attachmentIdSchema } },
    refusals: ATTACHMENT_REFUSALS,
  },
  {
    method: 'get',
    path: '/v1/attachments/:attachmentId',
    operationId: 'requestDownload',
    tag: 'attachments',
    summary: 'A presigned download (members of a chat the attachment was sent to, and its owner)',
    auth: 'bearer',
    pathParams: ATTACHMENT_ID,
    answers: { 200: { description: 'The presigned GET.', schema: downloadGrantSchema } },
    refusals: ATTACHMENT_REFUSALS,
  },
  {
    method: 'put',
    path: `${LOCAL_BLOB_ROUTE}*`,
    operationId: 'putLocalBlob',
    tag: 'attachments',
    summary: "Uploads a blob to embedded mode's local store, at a URL the attachment API signed",
    auth: 'signed-url',
    embeddedOnly: true,
    pathParams: { key: 'The object key (as signed).' },
    answers: { 200: { description: 'Stored (a part answers with its ETag header).' } },
    refusals: { 403: 'CM_ERR_ATTACHMENT_URL_INVALID.', 413: 'CM_ERR_ATTACHMENT_TOO_LARGE.' },
  },
  {
    method: 'get',
    path: `${LOCAL_BLOB_ROUTE}*`,
    operationId: 'getLocalBlob',
    tag: 'attachments',
    summary: "Downloads a blob from embedded mode's local store, at a URL the attachment API signed",
    auth: 'signed-url',
    embeddedOnly: true,
    pathParams: { key: 'The object key (as signed).' },
    answers: { 200: { description: 'The bytes, with their content type.', contentType: 'application/octet-stream' } },
    refusals: { 403: 'CM_ERR_ATTACHMENT_URL_INVALID.', 404: 'CM_ERR_ATTACHMENT_NOT_FOUND.' },
  },
  {
    method: 'put',
    path: '/v1/keys',
    operationId: 'uploadKeys',
    tag: 'keys',
    summary: "Uploads or rotates the caller's device keys (docs/e2e.md)",
    description: 'Every signature is verified before anything is stored.',
    auth: 'bearer',
    body: keysUploadSchema,
    answers: { 200: { description: "The device's prekey counts.", schema: prekeyStatusSchema } },
    refusals: { 400: 'CM_ERR_E2E_INVALID_KEYS, CM_ERR_E2E_BAD_SIGNATURE or a malformed body.' },
  },
  {
    method: 'get',
    path: '/v1/keys',
    operationId: 'prekeyStatus',
    tag: 'keys',
    summary: "The caller's device's prekey counts and whether to refill",
    auth: 'bearer',
    answers: { 200: { description: 'The counts.', schema: prekeyStatusSchema } },
  },
  {
    method: 'get',
    path: '/v1/keys/:userId',
    operationId: 'keyBundles',
    tag: 'keys',
    summary: 'A key bundle per current device of a user the caller shares a chat with (`?deviceId=` for one)',
    description: 'Each bundle consumes one one-time prekey of each kind.',
    auth: 'bearer',
    pathParams: { userId: 'The user.' },
    answers: { 200: { description: 'The bundles.', schema: keyBundlesSchema } },
    refusals: { 400: BAD_REQUEST, 403: 'CM_ERR_E2E_NO_SHARED_CHAT.', 404: 'CM_ERR_E2E_NO_KEYS.' },
  },
  {
    method: 'post',
    path: '/v1/dev/token',
    operationId: 'devToken',
    tag: 'development',
    summary: 'Signs a token for any user, without a password: development only',
    description: 'Served in embedded mode on a loopback address (CHATMESH_GATEWAY_DEV_TOKENS); never in stack mode.',
    auth: 'none',
    embeddedOnly: true,
    body: devTokenBodySchema,
    answers: { 200: { description: 'The token.', schema: devTokenSchema } },
    refusals: { 400: BAD_REQUEST, 404: 'Development tokens are off.' },
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    operationId: 'openApiDocument',
    tag: 'service',
    summary: 'This document',
    auth: 'none',
    answers: { 200: { description: 'The OpenAPI 3.1 document of this API.', contentType: 'application/json' } },
  },
  {
    method: 'get',
    path: '/health',
    operationId: 'health',
    tag: 'service',
    summary: 'Liveness, for load balancers that can only probe the public port',
    auth: 'none',
    answers: { 200: { description: 'Alive.', schema: healthSchema } },
  },
  {
    method: 'get',
    path: '/',
    operationId: 'chatPage',
    tag: 'development',
    summary: "Embedded mode's chat page",
    auth: 'none',
    embeddedOnly: true,
    answers: { 200: { description: 'The page.', contentType: 'text/html' } },
  },
  {
    method: 'get',
    path: '/app.js',
    operationId: 'chatPageScript',
    tag: 'development',
    summary: "The chat page's script",
    auth: 'none',
    embeddedOnly: true,
    answers: { 200: { description: 'The script.', contentType: 'text/javascript' } },
  },
];
