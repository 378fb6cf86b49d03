import {
  ATTACHMENT_HTTP_STATUS,
  attachmentCodeOf,
  LOCAL_BLOB_ROUTE,
  type AttachmentService,
  type LocalObjectStore,
  type PresignedRequest,
} from '@chatmesh/attachments';
import { isChatmeshError } from '@chatmesh/errors';
import { ID_PATTERN } from '@chatmesh/protocol';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { z } from 'zod';

import { completeBodySchema, multipartBodySchema, partNumbersBodySchema, uploadBodySchema } from './http-schemas.js';
import { pending, readBody, send, sendError, sendJson, STATUS, type PendingResponse } from './internal/http.js';
import type { VerifiedToken } from './token-verifier.js';

/** What the attachment routes need from the gateway. */
export interface AttachmentRoutesDeps {
  readonly service: AttachmentService;
  /** The local store in embedded mode (its blob URLs are served here); null with S3. */
  readonly local: LocalObjectStore | null;
  /** The largest blob the local store accepts in one PUT (the largest size limit). */
  readonly maxBlobBytes: number;
}

/** The gateway's authenticated-route wrapper and JSON body parser, shared with the other routes. */
export interface RouteHelpers {
  authed(
    handler: (state: PendingResponse, caller: VerifiedToken, req: AttachmentRequestInfo) => Promise<void>,
    options?: { bodyBytes?: number },
  ): (res: HttpResponse, req: HttpRequest) => void;
  jsonBody<T>(
    state: PendingResponse,
    info: AttachmentRequestInfo,
    schema: z.ZodType<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }>;
}

/** The parts of a request a route reads. */
export interface AttachmentRequestInfo {
  readonly query: URLSearchParams;
  readonly param0: string;
  readonly body: Promise<Buffer | null> | null;
}

const SMALL_BODY_BYTES = 4096;

function wire(request: PresignedRequest): PresignedRequest {
  return { method: request.method, url: request.url, headers: request.headers, expiresAtMs: request.expiresAtMs };
}

/** Answers a refusal with its code and status; anything else is rethrown for the 500 path. */
function refuse(state: PendingResponse, error: unknown): void {
  const code = attachmentCodeOf(error);
  if (code === undefined) throw error;
  const context = isChatmeshError(error) ? error.context : {};
  sendError(state, ATTACHMENT_HTTP_STATUS[code] as keyof typeof STATUS, {
    code,
    message: (error as Error).message,
    ...(typeof context['retryAfterMs'] === 'number' ? { retryAfterMs: context['retryAfterMs'] } : {}),
  });
}

/**
 * The attachment API: `POST /v1/attachments` (a presigned PUT), `POST /v1/attachments/multipart`,
 * `POST /v1/attachments/:id/parts`, `POST /v1/attachments/:id/complete`, `GET /v1/attachments/:id` (a presigned GET),
 * and in embedded mode the local store's signed blob URLs (`PUT` and `GET /v1/blobs/*`, no bearer token: the URL's
 * signature is the grant).
 */
export function registerAttachmentRoutes(app: TemplatedApp, deps: AttachmentRoutesDeps, helpers: RouteHelpers): void {
  const { service } = deps;
  const { authed, jsonBody } = helpers;
  const attachmentIdOf = (info: AttachmentRequestInfo): string | null => {
    const id = decodeURIComponent(info.param0);
    return ID_PATTERN.test(id) ? id : null;
  };
  const notFound = (state: PendingResponse): void =>
    sendError(state, 404, { code: 'CM_ERR_ATTACHMENT_NOT_FOUND', message: 'no such attachment' });

  app.post(
    '/v1/attachments',
    authed(
      async (state, caller, info) => {
        const body = await jsonBody(state, info, uploadBodySchema);
        if (!body.ok) return;
        try {
          const grant = await service.requestUpload(caller.userId, body.value);
          sendJson(state, 201, { attachmentId: grant.attachmentId, upload: wire(grant.upload) });
        } catch (error) {
          refuse(state, error);
        }
      },
      { bodyBytes: SMALL_BODY_BYTES },
    ),
  );

  app.post(
    '/v1/attachments/multipart',
    authed(
      async (state, caller, info) => {
        const body = await jsonBody(state, info, multipartBodySchema);
        if (!body.ok) return;
        try {
          sendJson(state, 201, await service.requestMultipartUpload(caller.userId, body.value));
        } catch (error) {
          refuse(state, error);
        }
      },
      { bodyBytes: SMALL_BODY_BYTES },
    ),
  );

  app.post(
    '/v1/attachments/:attachmentId/parts',
    authed(
      async (state, caller, info) => {
        const id = attachmentIdOf(info);
        if (id === null) return notFound(state);
        const body = await jsonBody(state, info, partNumbersBodySchema);
        if (!body.ok) return;
        try {
          const parts = await service.presignParts(caller.userId, id, body.value.partNumbers);
          sendJson(state, 200, {
            parts: parts.map((part, index) => ({ partNumber: body.value.partNumbers[index], ...wire(part) })),
          });
        } catch (error) {
          refuse(state, error);
        }
      },
      { bodyBytes: 16 * 1024 },
    ),
  );

  app.post(
    '/v1/attachments/:attachmentId/complete',
    authed(
      async (state, caller, info) => {
        const id = attachmentIdOf(info);
        if (id === null) return notFound(state);
        const body = await jsonBody(state, info, completeBodySchema);
        if (!body.ok) return;
        try {
          await service.completeMultipartUpload(caller.userId, id, body.value.parts);
          sendJson(state, 200, { attachmentId: id });
        } catch (error) {
          refuse(state, error);
        }
      },
      { bodyBytes: 1024 * 1024 },
    ),
  );

  app.get(
    '/v1/attachments/:attachmentId',
    authed(async (state, caller, info) => {
      const id = attachmentIdOf(info);
      if (id === null) return notFound(state);
      try {
        sendJson(state, 200, { attachmentId: id, download: wire(await service.downloadUrl(caller.userId, id)) });
      } catch (error) {
        refuse(state, error);
      }
    }),
  );

  const local = deps.local;
  if (local === null) return;
  const blob = (method: 'GET' | 'PUT') => (res: HttpResponse, req: HttpRequest) => {
    const state = pending(res);
    const key = req.getUrl().slice(LOCAL_BLOB_ROUTE.length);
    const query = new URLSearchParams(req.getQuery() ?? '');
    const contentType = req.getHeader('content-type');
    const body = method === 'PUT' ? readBody(state, deps.maxBlobBytes) : null;
    void (async () => {
      try {
        const grant = local.verify(method, key, query);
        if (grant.op === 'get') {
          const found = await local.readBlob(grant.key);
          if (found === null) return notFound(state);
          if (state.aborted) return;
          state.res.cork(() => {
            state.res.writeStatus(STATUS[200]).writeHeader('content-type', found.contentType);
            if (grant.fileName !== null) {
              state.res.writeHeader(
                'content-disposition',
                `attachment; filename*=UTF-8''${encodeURIComponent(grant.fileName)}`,
              );
            }
            state.res.end(found.body);
          });
          return;
        }
        const bytes = await body;
        if (bytes === null || bytes === undefined) {
          return sendError(state, 413, { code: 'CM_ERR_ATTACHMENT_TOO_LARGE', message: 'the body is too large' });
        }
        if (grant.op === 'put') {
          if (contentType !== grant.contentType) {
            return sendError(state, 403, {
              code: 'CM_ERR_ATTACHMENT_URL_INVALID',
              message: `the signed content type is ${grant.contentType}`,
            });
          }
          await local.writeBlob(grant, bytes);
          return send(state, 200, '');
        }
        const etag = await local.writePart(grant, bytes);
        if (state.aborted) return;
        state.res.cork(() => {
          state.res.writeStatus(STATUS[200]).writeHeader('etag', etag).end();
        });
      } catch (error) {
        refuse(state, error);
      }
    })().catch(() => sendError(state, 500, { code: 'CM_ERR_COMMON_INTERNAL', message: 'the blob request failed' }));
  };
  app.get(`${LOCAL_BLOB_ROUTE}*`, blob('GET'));
  app.put(`${LOCAL_BLOB_ROUTE}*`, blob('PUT'));
}
