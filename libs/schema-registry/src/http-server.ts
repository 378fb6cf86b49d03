import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isChatmeshError } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import { RegistryApiError } from './errors.js';
import type { SchemaInput, SchemaRegistry } from './schema-registry.js';

/** Confluent's media type; clients send it and expect it back. */
export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Largest request body accepted. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Options of {@link startRegistryHttpServer}. */
export interface RegistryHttpServerOptions {
  readonly registry: SchemaRegistry;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** Served by `GET /v1/metadata/version`. @default '0.0.0' */
  readonly version?: string;
  readonly logger?: Logger;
}

/** A listening registry HTTP server. */
export interface RegistryHttpServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and closes idle ones; resolves when the server is closed. */
  close(): Promise<void>;
}

type Handler = (match: string[], body: unknown, query: URLSearchParams) => unknown | Promise<unknown>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handle: Handler;
}

/**
 * Serves the subset of Confluent Schema Registry's REST API that `@kafkajs/confluent-schema-registry`
 * uses (plus a few read endpoints for people and tools), with Confluent's content type and error
 * bodies `{"error_code": 40401, "message": "..."}`. Until the store has caught up, every request
 * gets 503 (error_code 50003), so a health probe on `GET /subjects` means "ready".
 */
export async function startRegistryHttpServer(options: RegistryHttpServerOptions): Promise<RegistryHttpServer> {
  const { registry, logger } = options;
  const routes = buildRoutes(registry, options.version ?? '0.0.0');
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger?.error({ err: error }, 'schema registry request failed');
      send(response, 500, { error_code: 50001, message: 'Internal error' });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://registry');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = request.method ?? 'GET';
    const candidates = routes.filter((route) => route.pattern.test(path));
    if (candidates.length === 0)
      return sendError(response, new RegistryApiError('ROUTE_NOT_FOUND', 'HTTP 404 Not Found'));
    const route = candidates.find((candidate) => candidate.method === method);
    if (route === undefined)
      return sendError(response, new RegistryApiError('METHOD_NOT_ALLOWED', 'HTTP 405 Method Not Allowed'));
    if (!registry.isReady() && !path.startsWith('/v1/metadata')) {
      return sendError(response, new RegistryApiError('NOT_READY', 'The registry is still reading its store'));
    }
    try {
      const body = method === 'GET' ? undefined : await readJson(request);
      const match = (route.pattern.exec(path) ?? []).slice(1).map((part) => decodeURIComponent(part));
      send(response, 200, await route.handle(match, body, url.searchParams));
    } catch (error) {
      if (error instanceof RegistryApiError) return sendError(response, error);
      // Store failures are the registry's own 5xx; a timeout is Confluent's 50002.
      const timeout = isChatmeshError(error) && /timed out|timeout/i.test(error.message);
      logger?.warn({ err: error, method, path }, 'schema registry store failure');
      send(response, 500, { error_code: timeout ? 50002 : 50001, message: (error as Error).message });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

function buildRoutes(registry: SchemaRegistry, version: string): Route[] {
  const subject = '([^/]+)';
  const route = (method: string, pattern: string, handle: Handler): Route => ({
    method,
    pattern: new RegExp(`^${pattern}$`),
    handle,
  });
  const input = (body: unknown): SchemaInput => {
    if (typeof body !== 'object' || body === null)
      throw new RegistryApiError('INVALID_SCHEMA', 'Request body must be a JSON object with "schema"');
    return body as SchemaInput;
  };
  const level = (body: unknown): unknown => (body as { compatibility?: unknown } | undefined)?.compatibility;
  const get = (match: string[], index: number): string => match[index] ?? '';
  return [
    route('GET', '/subjects', () => registry.subjects()),
    route('GET', `/subjects/${subject}/versions`, (m) => registry.versionNumbers(get(m, 0))),
    route('POST', `/subjects/${subject}/versions`, (m, body) => registry.register(get(m, 0), input(body))),
    route('POST', `/subjects/${subject}`, (m, body) => registry.lookup(get(m, 0), input(body))),
    route('GET', `/subjects/${subject}/versions/([^/]+)`, (m) => registry.version(get(m, 0), get(m, 1))),
    route('GET', `/subjects/${subject}/versions/([^/]+)/schema`, (m) =>
      JSON.parse(registry.version(get(m, 0), get(m, 1)).schema),
    ),
    route('GET', '/schemas/ids/([0-9]+)', (m) => ({ schema: registry.schemaById(Number(get(m, 0))) })),
    route('GET', '/schemas/types', () => ['AVRO']),
    route('POST', `/compatibility/subjects/${subject}/versions/([^/]+)`, (m, body, query) => {
      const result = registry.testCompatibility(get(m, 0), get(m, 1), input(body));
      return query.get('verbose') === 'true' ? result : { is_compatible: result.is_compatible };
    }),
    route('GET', '/config', () => ({ compatibilityLevel: registry.globalCompatibility() })),
    route('PUT', '/config', async (_m, body) => ({
      compatibility: await registry.setCompatibility(null, level(body)),
    })),
    route('GET', `/config/${subject}`, (m, _body, query) => ({
      compatibilityLevel:
        query.get('defaultToGlobal') === 'true'
          ? registry.compatibilityOf(get(m, 0))
          : registry.subjectCompatibility(get(m, 0)),
    })),
    route('PUT', `/config/${subject}`, async (m, body) => ({
      compatibility: await registry.setCompatibility(get(m, 0), level(body)),
    })),
    route('GET', '/v1/metadata/version', () => ({ version, commitId: 'chatmesh' })),
    route('GET', '/', () => ({})),
  ];
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new RegistryApiError('UNPROCESSABLE_ENTITY', `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new RegistryApiError('BAD_REQUEST', `Unrecognized JSON body: ${(error as Error).message}`);
  }
}

function sendError(response: ServerResponse, error: RegistryApiError): void {
  send(response, error.httpStatus, error.toBody());
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': SCHEMA_REGISTRY_CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
