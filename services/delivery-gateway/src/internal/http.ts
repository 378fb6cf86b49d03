import type { ErrorCode } from '@chatmesh/errors';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';

/** Status lines uWS writes verbatim. */
export const STATUS = {
  200: '200 OK',
  201: '201 Created',
  202: '202 Accepted',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  410: '410 Gone',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
} as const;

/**
 * Headers of every answer. The API answers JSON and the chat page is served from this origin only: no sniffing a
 * JSON error into HTML, no framing (clickjacking), no referrer with tokens in the query leaving the page.
 */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['x-frame-options', 'DENY'],
];

/**
 * The chat page's Content-Security-Policy: its script is `/app.js` of this origin, its only connection the
 * gateway's own WebSocket (`'self'` covers ws/wss of the same host), its style inline in the page.
 */
export const CHAT_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A response that may be answered later (after awaits): tracks whether the client went away or it was answered. */
export interface PendingResponse {
  readonly res: HttpResponse;
  aborted: boolean;
  /** Set once an answer went out: a later one (a handler that answers after the body reader did) is dropped. */
  answered?: boolean;
}

/** Marks `res` as async: uWS requires onAborted before returning from the handler without answering. */
export function pending(res: HttpResponse): PendingResponse {
  const state: PendingResponse = { res, aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

/** Ends the response with a body, corked (required when answering after an await). */
export function send(
  state: PendingResponse,
  status: keyof typeof STATUS,
  body: string,
  contentType = 'application/json; charset=utf-8',
  options: { headers?: ReadonlyArray<readonly [string, string]>; closeConnection?: boolean } = {},
): void {
  if (state.aborted || state.answered) return;
  state.answered = true;
  state.res.cork(() => {
    state.res.writeStatus(STATUS[status]).writeHeader('content-type', contentType);
    for (const [name, value] of SECURITY_HEADERS) state.res.writeHeader(name, value);
    for (const [name, value] of options.headers ?? []) state.res.writeHeader(name, value);
    if (options.closeConnection) state.res.writeHeader('connection', 'close');
    state.res.end(body, options.closeConnection ?? false);
  });
}

/** A JSON answer that is not an error: errors go through {@link sendError}, so their code is always typed. */
export type JsonBody<T extends object> = T & { readonly code?: never };

/** The body of every HTTP error the gateway answers: a code of the table, a message, and fields some codes carry. */
export interface HttpErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  readonly [field: string]: unknown;
}

/** Ends the response with JSON. */
export function sendJson<T extends object>(
  state: PendingResponse,
  status: keyof typeof STATUS,
  value: JsonBody<T>,
  options: { closeConnection?: boolean } = {},
): void {
  send(state, status, JSON.stringify(value), undefined, options);
}

/** Ends the response with an error body `{code, message, ...}`. */
export function sendError(
  state: PendingResponse,
  status: keyof typeof STATUS,
  error: HttpErrorBody,
  options: { closeConnection?: boolean } = {},
): void {
  send(state, status, JSON.stringify(error), undefined, options);
}

/** The bearer token of a request: the Authorization header, or the `access_token` query parameter. */
export function bearerToken(req: HttpRequest): string | null {
  const header = req.getHeader('authorization');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match) return match[1]!;
  const query = new URLSearchParams(req.getQuery() ?? '').get('access_token');
  return query === null || query === '' ? null : query;
}

/**
 * Reads a request body up to `maxBytes`; resolves null when it is larger (or the client aborts). A larger body
 * (announced by Content-Length or found while reading) is answered 413 `CM_ERR_GATEWAY_BODY_TOO_LARGE` at once
 * and the connection closed, so the rest of it is never read.
 * @param contentLength the request's Content-Length header ('' when absent), read before the handler returned
 */
export function readBody(state: PendingResponse, maxBytes: number, contentLength = ''): Promise<Buffer | null> {
  const tooLarge = (): null => {
    sendError(
      state,
      413,
      { code: 'CM_ERR_GATEWAY_BODY_TOO_LARGE', message: `the body is larger than ${maxBytes} bytes` },
      { closeConnection: true },
    );
    return null;
  };
  if (/^\d+$/.test(contentLength) && Number(contentLength) > maxBytes) return Promise.resolve(tooLarge());
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    state.res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        done = true;
        resolve(tooLarge());
        return;
      }
      // uWS reuses the chunk's memory after this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
  });
}
