/**
 * Embedded chatmesh for the page tests: ingest + fan-out + delivery-gateway in one service group on the
 * memory bus, store and presence registry. The gateway loads the chat page from @chatmesh/web-chat by
 * itself (its default loader), as `npm start` does.
 */
import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createDeliveryGatewayService, type Gateway } from '@chatmesh/delivery-gateway';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { createLogger } from '@chatmesh/logging';
import { createChatmeshMetrics, createMetricsRegistry } from '@chatmesh/metrics';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { collectConfigSections, startServiceGroup } from '@chatmesh/runtime';
import { createLocalCodec } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';

export interface EmbeddedChatmesh {
  /** `http://127.0.0.1:<port>`: the page at `/`, the API and `/v1/ws`. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedChatmesh(): Promise<EmbeddedChatmesh> {
  let gateway: Gateway | undefined;
  const modules = [ingestService, fanOutService, createDeliveryGatewayService({ onStarted: (g) => (gateway = g) })];
  const config = loadConfig({
    env: { CHATMESH_GATEWAY_PORT: '0', CHATMESH_HTTP_PORT: '0', CHATMESH_LOG_LEVEL: 'silent' },
    sections: collectConfigSections(modules),
  });
  const bus = createMemoryBus();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  const registry = createMetricsRegistry({ collectDefaultMetrics: false });
  const group = await startServiceGroup(modules, {
    config,
    logger: createLogger({ service: 'web-chat-tests', level: 'silent' }),
    registry,
    metrics: createChatmeshMetrics(registry),
    bus,
    codec: createLocalCodec(),
    store,
    presence,
  });
  await waitFor(() => group.isReady(), { description: 'ingest, fan-out and gateway ready', timeoutMs: 30_000 });
  return {
    url: gateway!.url,
    async close() {
      await group.stop();
      await Promise.allSettled([bus.close(), store.close(), presence.close()]);
    },
  };
}
