/**
 * @chatmesh/delivery-gateway: the WebSocket gateway on uWebSockets.js. It authenticates clients (JWT),
 * turns their frames into commands on Kafka, replays each device's inbox from its cursor and then
 * delivers live from its own `gateway.<id>.deliveries` topic with no gap and no duplicate, and serves
 * the HTTP API. Exports its {@link ServiceModule}, which the embedded launcher runs in-process and
 * `src/main.ts` runs as its own process.
 */
export { deliveryGatewayService, createDeliveryGatewayService, type DeliveryGatewayOptions } from './service.js';
export { GATEWAY_CONFIG, DEFAULT_DEV_SECRET, devTokensEnabled, isLoopbackHost } from './gateway-config.js';
export { GATEWAY_METRICS } from './metrics.js';
export { startGateway, type Gateway, type GatewayDeps, type GatewaySettings } from './gateway-server.js';
export { createTokenVerifier, signDevToken, type TokenVerifier, type VerifiedToken } from './token-verifier.js';
export {
  assertNativeUws,
  currentUwsRuntime,
  loadUws,
  nativeUwsBinaryPath,
  selectUwsBuild,
  UWS_BUILDS,
  type UwsBuild,
  type UwsChoice,
  type UwsModule,
  type UwsRuntime,
} from './native-uws.js';
export { GatewayError, AuthError } from './errors.js';
export { InboxStream, REPLAY_BATCH_SIZE } from './inbox-stream.js';
export { createChatPageLoader, WEB_CHAT_PACKAGE } from './web-chat-page.js';
export type { ChatPageAssets } from './http-api.js';
export { buildOpenApiDocument, HTTP_API_VERSION } from './openapi.js';
export { HTTP_ROUTES, type HttpRoute } from './http-routes.js';
export { OPENAPI_ROUTE } from './openapi-route.js';
