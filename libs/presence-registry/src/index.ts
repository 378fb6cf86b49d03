/**
 * @chatmesh/presence-registry: the connection registry every service consults. Gateways register a
 * device when its WebSocket connects, keep it alive with one lease heartbeat per gateway, and
 * unregister it on close; fan-out asks which gateways hold a user's devices (1,024 users in one round
 * trip); presence reads online and last seen. A gateway that dies leaves no ghost: its lease lapses.
 *
 * @example
 * const registry = await createRedisPresenceRegistry({ url: process.env.REDIS_URL });
 * await registry.acquireGateway({ gatewayId: 'gw-0', instanceId, ttlMs: 15_000 });
 * await registry.registerDevice({ userId, deviceId, gatewayId: 'gw-0', gatewayInstanceId: instanceId, connectionId, ttlMs: 600_000 });
 * const routes = await registry.onlineDevicesOfUsers(memberIds);
 */
export type * from './types.js';
export { PresenceError, type PresenceErrorContext } from './errors.js';
export { DEFAULT_LAST_SEEN_RETENTION_MS } from './defaults.js';
export { createMemoryPresenceRegistry, type MemoryPresenceRegistryOptions } from './memory-presence-registry.js';
export {
  createRedisPresenceRegistry,
  DEFAULT_PRESENCE_KEY_PREFIX,
  type RedisPresenceRegistryOptions,
} from './redis-presence-registry.js';
