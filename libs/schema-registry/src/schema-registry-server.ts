import type { Logger } from '@chatmesh/logging';
import { startRegistryHttpServer, type RegistryHttpServer } from './http-server.js';
import { SchemaRegistry } from './schema-registry.js';
import type { SchemaStore } from './store/schema-store.js';

/** Options of {@link startSchemaRegistry}. */
export interface StartSchemaRegistryOptions {
  readonly store: SchemaStore;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** Served by `GET /v1/metadata/version`. @default '0.0.0' */
  readonly version?: string;
  readonly logger?: Logger;
}

/** A running registry: HTTP server plus store. */
export interface RunningSchemaRegistry extends RegistryHttpServer {
  readonly registry: SchemaRegistry;
  /** Resolves once the store has caught up (the API answers from then on). */
  readonly ready: Promise<void>;
}

/**
 * Starts a registry: listens at once (answering 503 until ready), reads the store to its end, then
 * serves. `close()` stops the HTTP server, then the store.
 * @throws SchemaStoreError through `ready` when the store cannot be read.
 */
export async function startSchemaRegistry(options: StartSchemaRegistryOptions): Promise<RunningSchemaRegistry> {
  const registry = new SchemaRegistry({ store: options.store });
  const server = await startRegistryHttpServer({
    registry,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const ready = registry.start();
  // Observed here so a failed start is not an unhandled rejection when the caller awaits later.
  ready.catch(() => undefined);
  return {
    ...server,
    registry,
    ready,
    async close() {
      await server.close();
      await registry.close();
    },
  };
}
