import {
  ATTACHMENT_CONFIG,
  AttachmentService,
  openObjectStore,
  startOrphanSweeper,
  uploadPolicyOf,
  type LocalObjectStore,
} from '@chatmesh/attachments';
import { getConfigSection } from '@chatmesh/config';
import { createMetrics } from '@chatmesh/metrics';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from '@chatmesh/rate-limit';
import { DEVICES_CONFIG, ensureTopics, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS, gatewayDeliveriesTopic } from '@chatmesh/schemas';
import { GATEWAY_CONFIG } from './gateway-config.js';
import { startGateway, type Gateway } from './gateway-server.js';
import type { ChatPageAssets } from './http-api.js';
import { GATEWAY_METRICS } from './metrics.js';
import { createTokenVerifier } from './token-verifier.js';
import { createChatPageLoader } from './web-chat-page.js';

/** Options of {@link createDeliveryGatewayService} (tests pin them; the default module uses none). */
export interface DeliveryGatewayOptions {
  /** Called with the running gateway (tests read its URL). */
  readonly onStarted?: (gateway: Gateway) => void;
  /** Embedded mode's chat page. @default {@link createChatPageLoader} over `@chatmesh/web-chat` */
  readonly chatPage?: () => Promise<ChatPageAssets | null>;
}

/**
 * Builds the delivery-gateway service module: one uWebSockets.js app per process (WebSocket `/v1/ws`
 * and the HTTP API), JWT auth, client frames to Kafka commands, inbox replay then live delivery from
 * `gateway.<gatewayId>.deliveries`, backpressure, rate limits and a graceful drain.
 */
export function createDeliveryGatewayService(options: DeliveryGatewayOptions = {}): ServiceModule {
  return {
    name: 'delivery-gateway',
    description:
      'WebSocket gateway (uWebSockets.js): authenticates clients, turns frames into commands and delivers its own delivery topic',
    consumes: ['gateway.<id>.deliveries', TOPICS.chatBroadcast.name],
    produces: [
      TOPICS.chatCommands.name,
      TOPICS.receipts.name,
      TOPICS.presenceEvents.name,
      TOPICS.ephemeral.name,
      TOPICS.pushRegistrations.name,
      // Identity-key notices go straight to the gateways of the user's contacts (identity-notices.ts).
      'gateway.<id>.deliveries',
    ],
    config: { gateway: GATEWAY_CONFIG, devices: DEVICES_CONFIG, attachments: ATTACHMENT_CONFIG },
    metrics: GATEWAY_METRICS,
    async start(deps) {
      const settings = getConfigSection(deps.config, 'gateway', GATEWAY_CONFIG);
      const devices = getConfigSection(deps.config, 'devices', DEVICES_CONFIG);
      const attachmentSettings = getConfigSection(deps.config, 'attachments', ATTACHMENT_CONFIG);
      const { mode, gatewayId } = deps.config;
      // Fails before anything is opened when stack mode has no JWKS URL.
      const verifier = createTokenVerifier({
        mode,
        issuer: settings.authIssuer,
        audience: settings.authAudience,
        jwksUrl: settings.authJwksUrl,
        devSecret: settings.authDevSecret,
      });
      await ensureTopics(deps.bus, deps.codec, [
        gatewayDeliveriesTopic(gatewayId),
        TOPICS.chatBroadcast,
        TOPICS.chatCommands,
        TOPICS.receipts,
        TOPICS.presenceEvents,
        TOPICS.ephemeral,
        TOPICS.pushRegistrations,
      ]);
      const connectionLimiter = createMemoryRateLimiter({
        ratePerSecond: settings.connectionRatePerSecond,
        burst: settings.connectionBurst,
      });
      const userBuckets = { ratePerSecond: settings.userRatePerSecond, burst: settings.userBurst };
      // Stack mode shares each user's bucket across every gateway through Redis; embedded has one process.
      const userLimiter: RateLimiter =
        mode === 'stack' && deps.config.redisUrl !== undefined
          ? createRedisRateLimiter({ ...userBuckets, url: deps.config.redisUrl, keyPrefix: 'chatmesh:rate:user:' })
          : createMemoryRateLimiter(userBuckets);
      // The local store signs URLs on the gateway's own address, known once it listens.
      let gatewayUrl = `http://${settings.host}:${settings.port}`;
      const objects = await openObjectStore(attachmentSettings, () => gatewayUrl);
      if (mode === 'stack' && objects.kind === 'local') {
        deps.logger.warn(
          { dir: attachmentSettings.dir },
          'attachments are kept in a local folder in stack mode: only one machine can serve and check them; set S3_ENDPOINT and the S3_* keys (CHATMESH_ATTACHMENT_STORE=s3)',
        );
      }
      const uploadLimiter: RateLimiter = (() => {
        const buckets = {
          ratePerSecond: attachmentSettings.uploadsPerMinute / 60,
          burst: Math.max(1, Math.floor(attachmentSettings.uploadsPerMinute / 4)),
        };
        return mode === 'stack' && deps.config.redisUrl !== undefined
          ? createRedisRateLimiter({ ...buckets, url: deps.config.redisUrl, keyPrefix: 'chatmesh:rate:upload:' })
          : createMemoryRateLimiter(buckets);
      })();
      const policy = uploadPolicyOf(attachmentSettings);
      const attachments = new AttachmentService({
        objects,
        metadata: deps.store.attachments,
        directory: deps.store.directory,
        limiter: uploadLimiter,
        policy,
        urlTtlSeconds: attachmentSettings.urlTtlSeconds,
      });
      const sweeper =
        attachmentSettings.sweepIntervalMs > 0
          ? startOrphanSweeper({
              objects,
              metadata: deps.store.attachments,
              orphanTtlMs: attachmentSettings.orphanTtlMs,
              intervalMs: attachmentSettings.sweepIntervalMs,
              logger: deps.logger,
            })
          : null;
      let gateway: Gateway;
      try {
        gateway = await startGateway({
          mode,
          gatewayId,
          settings,
          logger: deps.logger,
          registry: deps.registry,
          metrics: createMetrics(deps.registry, GATEWAY_METRICS),
          store: deps.store,
          presence: deps.presence,
          codec: deps.codec,
          typed: deps.typed,
          verifier,
          connectionLimiter,
          userLimiter,
          chatPage: options.chatPage ?? createChatPageLoader(),
          maxDevicesPerUser: devices.maxDevicesPerUser,
          attachments: {
            service: attachments,
            local: objects.kind === 'local' ? (objects as LocalObjectStore) : null,
            maxBlobBytes: Math.max(
              policy.maxImageBytes,
              policy.maxVideoBytes,
              policy.maxAudioBytes,
              policy.maxFileBytes,
            ),
          },
        });
      } catch (error) {
        await Promise.allSettled([
          connectionLimiter.close(),
          userLimiter.close(),
          uploadLimiter.close(),
          sweeper?.stop(),
          objects.close(),
        ]);
        throw error;
      }
      gatewayUrl = gateway.url;
      options.onStarted?.(gateway);
      return {
        name: 'delivery-gateway',
        stop: async () => {
          await gateway.stop();
          await Promise.allSettled([sweeper?.stop(), uploadLimiter.close(), objects.close()]);
        },
        health: () => gateway.health(),
      };
    },
  };
}

/** The delivery-gateway service as the launcher and `src/main.ts` run it. */
export const deliveryGatewayService: ServiceModule = createDeliveryGatewayService();
