import { createMemoryBus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createDeliveryGatewayService, DEFAULT_DEV_SECRET, type Gateway } from '@chatmesh/delivery-gateway';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import { presenceService } from '@chatmesh/presence';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { pushService } from '@chatmesh/push';
import { receiptsService } from '@chatmesh/receipts';
import { collectConfigSections, startServiceGroup, silentObservability } from '@chatmesh/runtime';
import { createLocalCodec } from '@chatmesh/schemas';
import { createMemoryStore } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';
import { SignJWT } from 'jose';
import { EXPERIENCE_ENV, type ExperienceSystem } from './experience-system.js';
import { testTokenPayload } from './test-jwks.js';

/** Embedded mode: the six services in this process on the in-process bus, store and registry. */
export async function startEmbeddedExperience(
  options: { readonly env?: Readonly<Record<string, string>> } = {},
): Promise<ExperienceSystem> {
  let gateway: Gateway | undefined;
  const modules = [
    ingestService,
    fanOutService,
    receiptsService,
    presenceService,
    pushService,
    createDeliveryGatewayService({ onStarted: (g) => (gateway = g), chatPage: async () => null }),
  ];
  const config = loadConfig({
    env: {
      ...EXPERIENCE_ENV,
      CHATMESH_GATEWAY_PORT: '0',
      CHATMESH_HTTP_PORT: '0',
      CHATMESH_LOG_LEVEL: process.env.CHATMESH_TEST_LOG_LEVEL ?? 'silent',
      ...options.env,
    },
    sections: collectConfigSections(modules),
  });
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  const store = createMemoryStore();
  const presence = createMemoryPresenceRegistry();
  const group = await startServiceGroup(modules, {
    config,
    ...silentObservability('experience', config.logLevel),
    bus,
    codec,
    store,
    presence,
  });
  await waitFor(() => group.isReady(), { description: 'the six services ready', timeoutMs: 30_000 });
  const url = gateway!.url;
  return {
    mode: 'embedded',
    gatewayUrls: [url],
    bus,
    codec,
    store,
    presence,
    async token(userId, deviceId) {
      const response = await fetch(`${url}/v1/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId, deviceId }),
      });
      if (!response.ok) throw new Error(`POST /v1/dev/token answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { token: string }).token;
    },
    // Embedded mode verifies the development secret's HS256 tokens (CHATMESH_AUTH_DEV_SECRET's default).
    signClaims: (claims, signOptions = {}) =>
      new SignJWT(testTokenPayload(claims))
        .setProtectedHeader({ alg: 'HS256' })
        .sign(
          new TextEncoder().encode(
            signOptions.forged ? 'another-secret-of-at-least-32-characters!!' : DEFAULT_DEV_SECRET,
          ),
        ),
    async close() {
      await group.stop();
      await Promise.allSettled([bus.close(), store.close(), presence.close()]);
    },
  };
}
