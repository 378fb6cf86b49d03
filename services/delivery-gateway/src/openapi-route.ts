import type { TemplatedApp } from 'uWebSockets.js';
import { pending, send } from './internal/http.js';
import { buildOpenApiDocument } from './openapi.js';

/** Where the gateway serves its OpenAPI document. */
export const OPENAPI_ROUTE = '/v1/openapi.json';

/**
 * Serves the OpenAPI document at {@link OPENAPI_ROUTE}, without a token: it describes the API, it grants nothing.
 * Built once, on the first request (the route table does not change while the process runs).
 */
export function registerOpenApiRoute(app: TemplatedApp): void {
  let body: string | undefined;
  app.get(OPENAPI_ROUTE, (res) => {
    body ??= JSON.stringify(buildOpenApiDocument());
    send(pending(res), 200, body, 'application/json; charset=utf-8');
  });
}
