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

/** A response that may be answered later (after awaits): tracks whether the client went away. */
export interface PendingResponse {
  readonly res: HttpResponse;
  aborted: boolean;
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
): void {
  if (state.aborted) return;
  state.res.cork(() => {
    state.res.writeStatus(STATUS[status]).writeHeader('content-type', contentType).end(body);
  });
}

/** Ends the response with JSON. */
export function sendJson(state: PendingResponse, status: keyof typeof STATUS, value: unknown): void {
  send(state, status, JSON.stringify(value));
}

/** The bearer token of a request: the Authorization header, or the `access_token` query parameter. */
export function bearerToken(req: HttpRequest): string | null {
  const header = req.getHeader('authorization');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match) return match[1]!;
  const query = new URLSearchParams(req.getQuery() ?? '').get('access_token');
  return query === null || query === '' ? null : query;
}

/** Reads a request body up to `maxBytes`; resolves null when it is larger (or the client aborts). */
export function readBody(state: PendingResponse, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    state.res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        done = true;
        resolve(null);
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
