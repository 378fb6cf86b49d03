import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { collectConfigSections, startServiceGroup } from '@chatmesh/runtime';
import { createLocalCodec } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { countersFromHealth, type BenchTarget } from './bench-target.js';

/**
 * Embedded mode: ingest and fan-out in this process with `startServiceGroup`, on the memory bus, the
 * memory store, the memory presence registry and the local codec, exactly as `npm start` wires them.
 * The driver shares the process (and its one event loop) with the services.
 */
export async function startEmbeddedTarget(options: { logLevel: string }): Promise<BenchTarget> {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  const modules = [ingestService, fanOutService];
  // The services' own defaults (ingest's per-user rate limit included): the bench spreads sends over many users.
  const config = loadConfig({
    env: { CHATMESH_LOG_LEVEL: options.logLevel },
    sections: collectConfigSections(modules),
  });
  const group = await startServiceGroup(modules, {
    config,
    logger: createLogger({ service: 'bench-embedded', level: config.logLevel }),
    registry,
    metrics: createChatmeshMetrics(registry),
    bus,
    codec,
    store,
    presence,
  });
  let stopped: Promise<void> | undefined;
  return {
    bus,
    codec,
    presence,
    environment: { bus: 'memory', store: 'memory', presence: 'memory', codec: 'local', services: group.names },
    async isReady() {
      return group.isReady();
    },
    async cpuSeconds() {
      const usage = process.cpuUsage();
      return { 'bench+ingest+fan-out': (usage.user + usage.system) / 1e6 };
    },
    async counters() {
      const health = group.health();
      return countersFromHealth({ ingest: health['ingest']?.details, fanOut: health['fan-out']?.details });
    },
    async checkIsolation() {
      return [];
    },
    stop() {
      stopped ??= (async () => {
        await group.stop();
        await bus.close();
        await store.close();
        await presence.close();
      })();
      return stopped;
    },
  };
}
