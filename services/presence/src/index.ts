/**
 * @chatmesh/presence: keeps the connection registry and last-seen in Redis and relays typing indicators to gateways. Exports its {@link ServiceModule}, which the
 * embedded launcher runs in-process and `src/main.ts` runs as its own process.
 */
export { presenceService } from './service.js';
