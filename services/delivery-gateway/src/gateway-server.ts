import { randomUUID } from 'node:crypto';
import type { Subscription } from '@chatmesh/bus';
import type { SectionValues } from '@chatmesh/config';
import { createSampledLog, type Logger } from '@chatmesh/logging';
import type { MetricInstruments, Registry } from '@chatmesh/metrics';
import type { PresenceRegistry } from '@chatmesh/presence-registry';
import { CLOSE_CODES, type ServerFrame } from '@chatmesh/protocol';
import type { RateLimiter } from '@chatmesh/rate-limit';
import { ServiceStatus, type TypedTopics } from '@chatmesh/runtime';
import { gatewayDeliveriesTopic, TOPICS, type SchemaCodec } from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import type { AttachmentRoutesDeps } from './attachment-routes.js';
import { BroadcastFollows } from './broadcast-follows.js';
import { DeliveredReporter } from './delivered-reporter.js';
import { DeliveryRouter } from './delivery-router.js';
import { GatewayError } from './errors.js';
import { ExpiryWheel } from './expiry-wheel.js';
import { FrameHandler } from './frame-handler.js';
import { devTokensEnabled, type GATEWAY_CONFIG } from './gateway-config.js';
import { GatewayLease } from './gateway-lease.js';
import { registerHttpApi, type ChatPageAssets } from './http-api.js';
import { createIdentityNotifier } from './identity-notices.js';
import { createInboxRenderer } from './inbox-renderer.js';
import { PendingWork } from './internal/pending-work.js';
import { Semaphore } from './internal/semaphore.js';
import type { GATEWAY_METRICS } from './metrics.js';
import { loadUws } from './native-uws.js';
import type { Session, SessionHub } from './session.js';
import { SessionLifecycle } from './session-lifecycle.js';
import { SessionOutput } from './session-output.js';
import { SessionRegistry } from './session-registry.js';
import type { TokenVerifier } from './token-verifier.js';
import { registerWebSocketRoute } from './websocket-route.js';

/*
 * The gateway's parts, one module each: sessions (`session.ts`, `session-registry.ts`, `session-lifecycle.ts`),
 * the socket route and its upgrade checks (`websocket-route.ts`), frames in (`frame-handler.ts`) and out
 * (`session-output.ts`), deliveries (`delivery-router.ts`), broadcast chats (`broadcast-follows.ts`), the lease
 * (`gateway-lease.ts`) and the HTTP API (`http-api.ts`). This file wires them and runs start and stop.
 */

/** The gateway's settings (its config section). */
export type GatewaySettings = SectionValues<typeof GATEWAY_CONFIG>;

/** What {@link startGateway} needs. */
export interface GatewayDeps {
  readonly mode: 'embedded' | 'stack';
  readonly gatewayId: string;
  readonly settings: GatewaySettings;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: MetricInstruments<typeof GATEWAY_METRICS>;
  readonly store: ChatStore;
  readonly presence: PresenceRegistry;
  readonly codec: SchemaCodec;
  readonly typed: TypedTopics;
  readonly verifier: TokenVerifier;
  /** Per-connection buckets (always in memory). */
  readonly connectionLimiter: RateLimiter;
  /** Per-user buckets (Redis in stack mode, so shared by every gateway). */
  readonly userLimiter: RateLimiter;
  /** Embedded mode's chat page, if the web-chat package is there. */
  readonly chatPage?: () => Promise<ChatPageAssets | null>;
  /** The per-user device list limit (DEVICES_CONFIG), checked at the upgrade. */
  readonly maxDevicesPerUser: number;
  /** The attachment API's service and, in embedded mode, the local store whose blob URLs the gateway serves. */
  readonly attachments?: AttachmentRoutesDeps;
}

/** A running gateway. */
export interface Gateway {
  /** `http://host:port` (the port the OS chose when configured with 0). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, sends `reconnect` and closes every socket with 1012, unregisters, releases the lease. */
  stop(): Promise<void>;
  health(): {
    ready: boolean;
    status: 'starting' | 'ready' | 'draining' | 'stopped' | 'failed';
    details: Record<string, unknown>;
  };
}

/** Chat log reads of inbox replays in flight at once, over all the gateway's sockets. */
const REPLAY_RENDER_READS = 256;

/** How often expired tokens are looked for: a socket is closed at most this long after its token expires. */
const EXPIRY_RESOLUTION_MS = 1000;

/**
 * Starts the uWebSockets.js app of one gateway process: `GET /v1/ws` (the client protocol), the HTTP
 * API, the consumer of `gateway.<gatewayId>.deliveries` and the presence lease.
 * @throws GatewayError `CM_ERR_GATEWAY_UWS_UNSUPPORTED` when no uWebSockets.js build fits this Node and glibc
 * @throws GatewayError `CM_ERR_GATEWAY_NATIVE_UWS_MISSING` when uWS runs its JavaScript fallback
 * @throws GatewayError `CM_ERR_GATEWAY_LISTEN_FAILED` when the port cannot be bound
 */
export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  const { uWS } = loadUws();
  const { settings, logger, metrics, store, presence, typed, gatewayId } = deps;
  // Refused frames and policy closes: every one counted by a metric, the first few per code a minute logged.
  const refusals = createSampledLog(logger);
  const instanceId = randomUUID();
  const renderer = createInboxRenderer({ store, codec: deps.codec });
  const sessions = new SessionRegistry();
  const work = new PendingWork();
  const status = new ServiceStatus();
  let listenSocket: us_listen_socket | null = null;
  const counts = { connectionsOpened: 0, deliveries: 0, commandsProduced: 0, leaseRenewals: 0 };

  const app: TemplatedApp = uWS.App();
  const output = new SessionOutput({
    logger,
    metrics,
    refusals,
    maxBackpressureBytes: settings.maxBackpressureBytes,
    maxViolationsPerMinute: settings.maxViolationsPerMinute,
  });
  const delivered = new DeliveredReporter({ typed, logger, metrics });
  const follows = new BroadcastFollows({
    store,
    codec: deps.codec,
    logger,
    metrics,
    sessions,
    output,
    delivered,
    work,
    publish: (topic, text) => app.publish(topic, text, false, false),
    joinWaitMs: settings.broadcastJoinWaitMs,
    chatAckFlushMs: settings.chatAckFlushMs,
  });
  const hub: SessionHub = {
    gatewayId,
    connectionIdPrefix: `${instanceId}-`,
    streams: {
      store,
      codec: deps.codec,
      renderer,
      renderReads: new Semaphore(REPLAY_RENDER_READS),
      onStoreRead: (reason, count) => metrics.gatewayReplayedEntriesTotal.inc({ reason }, count),
      onDuplicate: () => metrics.gatewayDeliveriesDroppedTotal.inc({ reason: 'duplicate' }),
      onExpired: (count) => metrics.gatewayInboxExpiredEntriesTotal.inc(count),
      onReplayDone: (durationMs) => metrics.gatewayReplayDurationSeconds.observe(durationMs / 1000),
      onLiveMessage: (serverTimeMs) =>
        metrics.gatewayStoredToDeliveredSeconds.observe({ path: 'inbox' }, (Date.now() - serverTimeMs) / 1000),
    },
    sendFrames: (session, frames) => output.sendFrames(session, frames),
    streamFailed: (session, error) => output.streamFailed(session, error),
    lifecycleSent: (session, chatId, chatSeq) => follows.lifecycleSent(session, chatId, chatSeq),
    catchUpBroadcasts: (session) => follows.catchUpBroadcasts(session),
    beforeOwnRemoval: (session, chatId, removedSeq) => follows.beforeOwnRemoval(session, chatId, removedSeq),
  };
  const expiries = new ExpiryWheel<Session>(EXPIRY_RESOLUTION_MS, (session) => {
    session.expirySlot = -1;
    output.close(session, CLOSE_CODES.AUTH_EXPIRED);
  });
  const lifecycle = new SessionLifecycle({
    gatewayId,
    instanceId,
    leaseTtlMs: settings.leaseTtlMs,
    hub,
    store,
    presence,
    typed,
    logger,
    metrics,
    sessions,
    output,
    follows,
    expiries,
    work,
    counts,
  });
  const lease = new GatewayLease({
    gatewayId,
    instanceId,
    ttlMs: settings.leaseTtlMs,
    presence,
    sessions,
    output,
    lifecycle,
    logger,
    work,
    counts,
    renewing: () => status.accepting,
    onLost: () => status.fail(),
  });

  // The lease first: devices registered before it would be bound to no live instance.
  await lease.acquire();

  registerWebSocketRoute(app, {
    maxFrameBytes: settings.maxFrameBytes,
    maxBackpressureBytes: settings.maxBackpressureBytes,
    idleTimeoutSeconds: settings.idleTimeoutSeconds,
    maxDevicesPerUser: deps.maxDevicesPerUser,
    accepting: () => status.accepting,
    verifier: deps.verifier,
    store,
    logger,
    metrics,
    refusals,
    output,
    frames: new FrameHandler({
      store,
      typed,
      logger,
      metrics,
      output,
      follows,
      delivered,
      connectionLimiter: deps.connectionLimiter,
      userLimiter: deps.userLimiter,
      typingPerMinute: settings.typingPerMinute,
      typingBurst: settings.typingBurst,
      counts,
    }),
    lifecycle,
  });
  const deliveries = new DeliveryRouter({ sessions, output, logger, metrics, counts });

  const devTokensOn = devTokensEnabled(deps.mode, settings.devTokens, settings.host);
  registerHttpApi(app, {
    mode: deps.mode,
    settings,
    verifier: deps.verifier,
    store,
    renderer,
    logger,
    metrics,
    gatewayId,
    presence,
    maxDevicesPerUser: deps.maxDevicesPerUser,
    produce: async (record) => {
      await typed.send(record.topic, record.key, record.value);
    },
    ...(deps.chatPage ? { chatPage: deps.chatPage } : {}),
    ...(deps.attachments ? { attachments: deps.attachments } : {}),
    onIdentityChanged: createIdentityNotifier({
      store,
      presence,
      deliver: async (topic, key, value) => {
        await typed.send(topic, key, value);
      },
    }),
  });

  const deliveriesTopic = gatewayDeliveriesTopic(gatewayId).name;
  let subscription: Subscription | null = null;
  let broadcastSubscription: Subscription | null = null;
  const port = await new Promise<number>((resolve, reject) => {
    app.listen(settings.host, settings.port, (socket) => {
      if (!socket) {
        reject(
          new GatewayError('CM_ERR_GATEWAY_LISTEN_FAILED', `could not listen on ${settings.host}:${settings.port}`, {
            context: { host: settings.host, port: settings.port },
          }),
        );
        return;
      }
      listenSocket = socket;
      resolve(uWS.us_socket_local_port(socket as unknown as us_socket));
    });
  });

  try {
    subscription = await typed.subscribe({
      // Its own group per gateway id: a restarted gateway resumes its topic where its predecessor stopped.
      groupId: `chatmesh.gateway.${gatewayId}`,
      topics: [deliveriesTopic],
      handler: async (delivery) => deliveries.route(delivery),
    });
    broadcastSubscription = await typed.subscribe({
      // Every gateway reads all of chat.broadcast (its own group); a new gateway has no device in any chat yet,
      // so it starts at the end, and devices catch up from the chat log when they join.
      groupId: `chatmesh.gateway.${gatewayId}.broadcast`,
      topics: [TOPICS.chatBroadcast.name],
      fromBeginning: false,
      partitionsConcurrently: TOPICS.chatBroadcast.partitions,
      // Keyed by chat: one chat's events in order, chats side by side.
      keyConcurrency: 64,
      handler: (event) => follows.onEvent(event),
    });
  } catch (error) {
    await subscription?.stop();
    if (listenSocket) uWS.us_listen_socket_close(listenSocket);
    throw error;
  }
  status.readyWhen(subscription.ready, broadcastSubscription.ready);

  lease.startHeartbeat();

  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  logger.info({ url, gatewayId, instanceId, topic: deliveriesTopic }, 'gateway listening');
  if (devTokensOn) {
    logger.warn(
      { url: `${url}/v1/dev/token`, host: settings.host, setting: settings.devTokens },
      'development tokens are served: anyone who reaches this address can act as any user (development only)',
    );
  }

  /** Drain: no new upgrades, `reconnect` + 1012 to every socket, consumers stopped, work settled, lease released. */
  async function drain(): Promise<void> {
    lease.stopHeartbeat();
    expiries.stop();
    if (listenSocket) {
      uWS.us_listen_socket_close(listenSocket);
      listenSocket = null;
    }
    const reconnect: ServerFrame = {
      type: 'reconnect',
      code: 'CM_ERR_COMMON_SHUTTING_DOWN',
      retryAfterMs: settings.drainRetryAfterMs,
    };
    for (const session of sessions.all()) {
      output.sendFrames(session, [reconnect]);
      output.close(session, CLOSE_CODES.SERVICE_RESTART);
    }
    await Promise.all([subscription?.stop(), broadcastSubscription?.stop()]);
    await work.settled();
    await follows.stop();
    await lease.release();
    await Promise.allSettled([deps.connectionLimiter.close(), deps.userLimiter.close()]);
  }

  const gateway: Gateway = {
    url,
    port,
    stop: () => status.stop(drain),
    health() {
      let held = 0;
      let replaying = 0;
      for (const session of sessions.each()) {
        held += session.stream.heldCount;
        if (session.stream.replaying) replaying++;
      }
      return {
        ...status.health(),
        details: {
          url,
          devTokens: devTokensOn,
          gatewayId,
          instanceId,
          connections: sessions.size,
          replaying,
          heldDeliveries: held,
          broadcastSubscriptions: follows.subscriptions,
          ...counts,
        },
      };
    },
  };
  return gateway;
}
