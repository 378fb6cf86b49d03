import type { Bus } from '@chatmesh/bus';
import type { ConfigSection, LoadedConfig } from '@chatmesh/config';
import type { Logger } from '@chatmesh/logging';
import type { ChatmeshMetrics, Registry } from '@chatmesh/metrics';
import type { SchemaCodec } from '@chatmesh/schemas';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import type { ChatStore } from '@chatmesh/store';
import { createOpsServer, type OpsServer } from './ops-server.js';
import { startServiceGroup, type ServiceGroup } from './service-group.js';
import type { ServiceModule } from './service-module.js';

/** Options of {@link startRuntime}: the clients the process built, and the services to run on them. */
export interface StartRuntimeOptions {
  readonly config: LoadedConfig<Record<string, ConfigSection>>;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: ChatmeshMetrics;
  /** Built with {@link createBusInstrumentation} so bus metrics reach the registry. */
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  /** Closed by {@link Runtime.stop} after the bus. */
  readonly store: ChatStore;
  /** Closed by {@link Runtime.stop} after the store. */
  readonly presence: PresenceRegistry;
  /** Started in this order, stopped in reverse. */
  readonly modules: readonly ServiceModule[];
  /** Extra fields for the ops server's `GET /`. @default {} */
  readonly describe?: () => Record<string, unknown>;
}

/** A process's running services and ops server. */
export interface Runtime {
  readonly group: ServiceGroup;
  readonly ops: OpsServer;
  /** The ops server's URL (with the real port). */
  readonly url: string;
  /** Marks the process not ready (`/ready` → 503); the first step of {@link stop}. */
  drain(): void;
  /** Graceful: drain, stop services in reverse order, close the bus, close the ops server. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the services and then the ops server (so `/ready` is never served before services exist).
 * If the ops server cannot bind (port taken), the services are stopped again and the error is thrown.
 */
export async function startRuntime(options: StartRuntimeOptions): Promise<Runtime> {
  const { config, logger, registry, metrics, bus, codec, store, presence } = options;
  const group = await startServiceGroup(options.modules, {
    config,
    logger,
    registry,
    metrics,
    bus,
    codec,
    store,
    presence,
  });
  let ops: OpsServer;
  try {
    ops = await createOpsServer({
      host: config.httpHost,
      port: config.httpPort,
      registry,
      logger: logger.child({ component: 'ops-server' }),
      health: group.health,
      describe: () => ({
        mode: config.mode,
        bus: bus.kind,
        modules: options.modules.map((module) => ({
          name: module.name,
          description: module.description,
          consumes: module.consumes,
          produces: module.produces,
        })),
        ...(options.describe?.() ?? {}),
      }),
    });
  } catch (error) {
    await group.stop();
    await bus.close();
    await store.close();
    await presence.close();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    group,
    ops,
    url: ops.url,
    drain: () => ops.setDraining(),
    stop() {
      stopping ??= (async () => {
        ops.setDraining();
        await group.stop();
        // The bus is closed only after every service stopped: their in-flight handlers may still produce.
        await bus.close();
        await store.close();
        await presence.close();
        await ops.close();
      })();
      return stopping;
    },
  };
}
