import { createMemoryBus, type Bus, type Subscription } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { collectConfigSections, startServiceGroup, type ServiceGroup, type ServiceModule } from '@chatmesh/runtime';
import { createLocalCodec } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import type { CoreService, SystemHarness } from './system-harness.js';

const MODULES: Record<CoreService, ServiceModule> = { ingest: ingestService, 'fan-out': fanOutService };

/** A bus view that remembers the subscriptions made through it, so a "process" can be crashed as a whole. */
function trackingBus(bus: Bus): { view: Bus; subscriptions: Subscription[] } {
  const subscriptions: Subscription[] = [];
  const view: Bus = {
    kind: bus.kind,
    admin: bus.admin,
    producer: bus.producer,
    partitionForKey: (key, count) => bus.partitionForKey(key, count),
    async subscribe(options) {
      const subscription = await bus.subscribe(options);
      subscriptions.push(subscription);
      return subscription;
    },
    // The shared bus outlives each "process".
    close: async () => {},
  };
  return { view, subscriptions };
}

/**
 * Embedded mode: ingest and fan-out in this process on the memory bus, memory store, memory presence
 * registry and local codec, each service in its own service group so it can be killed alone. A kill
 * crashes every group member the service created (no commit, in-flight records redelivered, the
 * abandoned handler may still be running like a zombie) and drops its in-memory state.
 */
export async function startEmbeddedHarness(options: { env?: Record<string, string> } = {}): Promise<SystemHarness> {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  const logger = createLogger({ service: 'system-tests', level: 'silent' });
  const running = new Map<CoreService, { group: ServiceGroup; subscriptions: Subscription[] }>();

  async function start(service: CoreService): Promise<void> {
    if (running.has(service)) return;
    const module = MODULES[service];
    const { view, subscriptions } = trackingBus(bus);
    const registry = createMetricsRegistry({ collectDefaultMetrics: false });
    const group = await startServiceGroup([module], {
      config: loadConfig({ env: options.env ?? {}, sections: collectConfigSections([module]) }),
      logger,
      registry,
      metrics: createChatmeshMetrics(registry),
      bus: view,
      codec,
      store,
      presence,
    });
    running.set(service, { group, subscriptions });
    await waitFor(() => group.isReady(), { description: `${service} ready`, timeoutMs: 30_000 });
  }

  return {
    mode: 'embedded',
    bus,
    codec,
    store,
    presence,
    start,
    async kill(service) {
      const instance = running.get(service);
      running.delete(service);
      for (const subscription of instance?.subscriptions ?? []) await subscription.crash();
    },
    async stop(service) {
      const instance = running.get(service);
      running.delete(service);
      await instance?.group.stop();
    },
    async health(service) {
      return running.get(service)?.group.health()[service]?.details ?? {};
    },
    async close() {
      for (const service of [...running.keys()].reverse()) await running.get(service)?.group.stop();
      running.clear();
      await presence.close();
      await bus.close();
      await store.close();
    },
  };
}
