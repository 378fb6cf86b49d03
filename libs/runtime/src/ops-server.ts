import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@chatmesh/logging';
import type { Registry } from '@chatmesh/metrics';
import type { HealthReport } from './service-module.js';

/** Options of {@link createOpsServer}. */
export interface OpsServerOptions {
  /** Interface to bind. */
  readonly host: string;
  /** Port; 0 lets the OS choose (tests), then read {@link OpsServer.port}. */
  readonly port: number;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Current report of every service, by name (usually {@link ServiceGroup.health}). */
  readonly health: () => Record<string, HealthReport>;
  /** Extra fields for `GET /` (mode, version...). @default {} */
  readonly describe?: () => Record<string, unknown>;
}

/** The running ops server. */
export interface OpsServer {
  /** `http://host:port` as bound (with the real port when 0 was asked). */
  readonly url: string;
  readonly port: number;
  /** From now on `/ready` answers 503, so load balancers stop sending work before services stop. */
  setDraining(): void;
  /** Stops listening and closes idle keep-alive connections. */
  close(): Promise<void>;
}

/**
 * Starts the ops HTTP server (node:http, never on the hot path):
 * - `GET /health` liveness: 200 unless a service reports `failed` (then 503, so the orchestrator restarts it);
 * - `GET /ready` readiness: 200 only when every service is ready and the process is not draining, else 503;
 * - `GET /metrics` Prometheus text of the registry;
 * - `GET /` a short JSON of what runs here.
 */
export async function createOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { registry, logger } = options;
  let draining = false;

  const json = (response: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(text);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://ops').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      json(response, 405, { error: 'method not allowed' });
      return;
    }
    switch (path) {
      case '/health': {
        const services = options.health();
        const failed = Object.entries(services)
          .filter(([, report]) => report.status === 'failed')
          .map(([name]) => name);
        json(response, failed.length === 0 ? 200 : 503, { status: failed.length === 0 ? 'ok' : 'failed', failed });
        return;
      }
      case '/ready': {
        const services = options.health();
        const ready = !draining && Object.values(services).every((report) => report.ready);
        json(response, ready ? 200 : 503, { ready, draining, services });
        return;
      }
      case '/metrics': {
        options.health(); // refreshes the up/ready gauges before they are scraped
        const text = await registry.metrics();
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(text);
        return;
      }
      case '/': {
        json(response, 200, {
          name: 'chatmesh',
          ...(options.describe?.() ?? {}),
          draining,
          services: Object.fromEntries(Object.entries(options.health()).map(([name, report]) => [name, report.status])),
          endpoints: ['/health', '/ready', '/metrics'],
        });
        return;
      }
      default:
        json(response, 404, { error: 'not found', endpoints: ['/', '/health', '/ready', '/metrics'] });
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, 'ops request failed');
      if (!response.headersSent) json(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  // Probes hold no long requests; short keep-alive lets close() finish promptly.
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;

  return {
    url,
    port,
    setDraining() {
      draining = true;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
