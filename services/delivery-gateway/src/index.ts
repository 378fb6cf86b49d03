/**
 * @chatmesh/delivery-gateway: webSocket gateway (uWebSockets.js): authenticates clients, turns frames into commands and delivers its own delivery topic. Exports its {@link ServiceModule}, which the
 * embedded launcher runs in-process and `src/main.ts` runs as its own process.
 */
export { deliveryGatewayService } from './service.js';
