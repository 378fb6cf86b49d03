/**
 * The presence registry on Redis (ioredis). Data layout, costs and the TTL reasoning are in the README;
 * in short: one hash per user (device entries + last seen, the key expiring after the retention),
 * one hash of gateway leases, Lua scripts for every compare-then-write, and pipelined batch reads.
 */
import { isChatmeshError } from '@chatmesh/errors';
import { Redis, ReplyError, type RedisOptions } from 'ioredis';

import { DEFAULT_LAST_SEEN_RETENTION_MS } from './defaults.js';
import { PresenceError, type PresenceErrorContext } from './errors.js';
import {
  decodeDeviceEntry,
  decodeGatewayLease,
  encodeDeviceEntry,
  summarizeUser,
  type DeviceEntry,
  type GatewayLease,
  type UserPresence,
} from './internal/liveness.js';
import {
  ACQUIRE_GATEWAY_LUA,
  REFRESH_DEVICE_LUA,
  REFRESH_GATEWAY_LUA,
  REGISTER_DEVICE_LUA,
  RELEASE_GATEWAY_LUA,
  UNREGISTER_DEVICE_LUA,
} from './internal/lua-scripts.js';
import {
  validateLeaseRelease,
  validateLeaseRequest,
  validateRefresh,
  validateRegistration,
  validateUnregistration,
  validateUserId,
  validateUserIds,
} from './internal/validate.js';
import type { DeviceRefresh, GatewayRefreshStatus, PresenceRegistry } from './types.js';

/** The key prefix when none is given. */
export const DEFAULT_PRESENCE_KEY_PREFIX = 'chatmesh:presence:';

/** Options of {@link createRedisPresenceRegistry}. Pass exactly one of `url` or `redis`. */
export interface RedisPresenceRegistryOptions {
  /** `redis://host:port[/db]`; the registry creates, owns and closes its client. */
  readonly url?: string;
  /** A client the caller owns (shared with other code); `close()` leaves it open. */
  readonly redis?: Redis;
  /**
   * Prepended to every key, so several deployments (or tests) share one Redis. Must not contain
   * `{` or `}` (the user id is the hash tag). @default 'chatmesh:presence:'
   */
  readonly keyPrefix?: string;
  /**
   * The time source of every deadline. Writers and readers compare times from their own clocks, so
   * hosts need NTP-level agreement (milliseconds), far below any sensible TTL. @default Date.now
   */
  readonly clock?: () => number;
  /**
   * How long a user's hash (and so last seen) lives after the last write for that user.
   * @default 2,592,000,000 (30 days)
   */
  readonly lastSeenRetentionMs?: number;
  /** Extra ioredis options for a client created from `url`. @default { maxRetriesPerRequest: 2 } */
  readonly redisOptions?: RedisOptions;
  /** How long the initial connection may take when the registry creates the client. @default 10000 */
  readonly connectTimeoutMs?: number;
}

interface ScriptedRedis {
  cmPresenceRegister(userKey: string, leasesKey: string, ...args: string[]): Promise<number>;
  cmPresenceRefresh(userKey: string, leasesKey: string, ...args: string[]): Promise<number>;
  cmPresenceUnregister(userKey: string, leasesKey: string, ...args: string[]): Promise<number>;
  cmPresenceAcquireGateway(leasesKey: string, ...args: string[]): Promise<string | null>;
  cmPresenceRefreshGateway(leasesKey: string, ...args: string[]): Promise<string>;
  cmPresenceReleaseGateway(leasesKey: string, ...args: string[]): Promise<number>;
}

/** The same script names on a pipeline, which queue instead of returning promises. */
interface ScriptedPipeline {
  cmPresenceRefresh(userKey: string, leasesKey: string, ...args: string[]): unknown;
}

/** Defines the scripts on a client; ioredis then sends EVALSHA and falls back to EVAL on NOSCRIPT. */
function defineScripts(redis: Redis): Redis & ScriptedRedis {
  redis.defineCommand('cmPresenceRegister', { numberOfKeys: 2, lua: REGISTER_DEVICE_LUA });
  redis.defineCommand('cmPresenceRefresh', { numberOfKeys: 2, lua: REFRESH_DEVICE_LUA });
  redis.defineCommand('cmPresenceUnregister', { numberOfKeys: 2, lua: UNREGISTER_DEVICE_LUA });
  redis.defineCommand('cmPresenceAcquireGateway', { numberOfKeys: 1, lua: ACQUIRE_GATEWAY_LUA });
  redis.defineCommand('cmPresenceRefreshGateway', { numberOfKeys: 1, lua: REFRESH_GATEWAY_LUA });
  redis.defineCommand('cmPresenceReleaseGateway', { numberOfKeys: 1, lua: RELEASE_GATEWAY_LUA });
  return redis as Redis & ScriptedRedis;
}

/** Maps a Redis or network failure to a {@link PresenceError}; chatmesh errors pass through. */
function toPresenceError(error: unknown, context: PresenceErrorContext): PresenceError {
  if (error instanceof PresenceError) return error;
  if (isChatmeshError(error)) {
    return new PresenceError(error.code, error.message, { cause: error, retriable: error.retriable, context });
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ReplyError) {
    return new PresenceError(
      'CM_ERR_PRESENCE_REDIS_REPLY',
      `Redis refused ${context.operation ?? 'a command'}: ${message}`,
      {
        cause: error,
        context,
      },
    );
  }
  return new PresenceError(
    'CM_ERR_PRESENCE_UNAVAILABLE',
    `Redis did not answer ${context.operation ?? 'a command'}: ${message}`,
    {
      cause: error,
      context,
    },
  );
}

function compileOptions(options: RedisPresenceRegistryOptions): {
  keyPrefix: string;
  clock: () => number;
  retentionMs: number;
  connectTimeoutMs: number;
} {
  const problems: string[] = [];
  if ((options.url === undefined) === (options.redis === undefined)) {
    problems.push(`pass exactly one of url or redis (got ${options.url === undefined ? 'neither' : 'both'})`);
  }
  const keyPrefix = options.keyPrefix ?? DEFAULT_PRESENCE_KEY_PREFIX;
  if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
    problems.push(`keyPrefix must be a string without '{' or '}' (got ${JSON.stringify(keyPrefix)})`);
  }
  const retentionMs = options.lastSeenRetentionMs ?? DEFAULT_LAST_SEEN_RETENTION_MS;
  if (!Number.isInteger(retentionMs) || retentionMs <= 0) {
    problems.push(`lastSeenRetentionMs must be a positive integer (got ${String(retentionMs)})`);
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs <= 0) {
    problems.push(`connectTimeoutMs must be a positive integer (got ${String(connectTimeoutMs)})`);
  }
  if (problems.length > 0) {
    throw new PresenceError('CM_ERR_PRESENCE_INVALID_OPTIONS', `createRedisPresenceRegistry: ${problems.join('; ')}`);
  }
  return { keyPrefix, clock: options.clock ?? Date.now, retentionMs, connectTimeoutMs };
}

/**
 * Creates a {@link PresenceRegistry} on Redis. With `url` it connects first and fails fast;
 * with `redis` it uses the caller's client as is.
 * @throws PresenceError CM_ERR_PRESENCE_INVALID_OPTIONS for contradictory options,
 *   CM_ERR_PRESENCE_UNAVAILABLE when the client it creates cannot connect within `connectTimeoutMs`.
 */
export async function createRedisPresenceRegistry(options: RedisPresenceRegistryOptions): Promise<PresenceRegistry> {
  const { keyPrefix, clock, retentionMs, connectTimeoutMs } = compileOptions(options);
  const ownsClient = options.redis === undefined;
  let client: Redis;
  if (options.redis !== undefined) {
    client = options.redis;
  } else {
    client = new Redis(options.url as string, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      connectTimeout: connectTimeoutMs,
      ...options.redisOptions,
    });
    // ioredis reports connection trouble as 'error' events besides failing commands; the commands'
    // failures are what callers act on, so the events must not crash the process as unhandled.
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      client.disconnect();
      throw toPresenceError(error, { operation: 'connect', url: options.url });
    }
  }
  const redis = defineScripts(client);
  const leasesKey = `${keyPrefix}gateways`;
  const userKey = (userId: string): string => `${keyPrefix}user:{${userId}}`;
  const deviceField = (deviceId: string): string => `d:${deviceId}`;
  let closed = false;

  async function run<T>(context: PresenceErrorContext, work: () => Promise<T>): Promise<T> {
    if (closed) throw new PresenceError('CM_ERR_PRESENCE_CLOSED', undefined, { context });
    try {
      return await work();
    } catch (error) {
      throw toPresenceError(error, context);
    }
  }

  function refreshArgs(refresh: DeviceRefresh): [string, string, string, string, string, string, string] {
    const nowMs = refresh.nowMs ?? clock();
    return [
      userKey(refresh.userId),
      leasesKey,
      deviceField(refresh.deviceId),
      refresh.connectionId,
      String(nowMs + refresh.ttlMs),
      String(nowMs),
      String(Math.max(retentionMs, refresh.ttlMs)),
    ];
  }

  /** One round trip: every user's hash and the lease table, read at one `now`. */
  async function readUsers(operation: string, userIds: readonly string[]): Promise<Map<string, UserPresence>> {
    if (userIds.length === 0) return new Map();
    const nowMs = clock();
    const pipeline = redis.pipeline();
    for (const userId of userIds) pipeline.hgetall(userKey(userId));
    pipeline.hgetall(leasesKey);
    const replies = (await pipeline.exec()) ?? [];
    const leaseReply = replies[userIds.length];
    if (leaseReply === undefined)
      throw new PresenceError('CM_ERR_PRESENCE_UNAVAILABLE', `${operation}: the pipeline returned no replies`);
    if (leaseReply[0]) throw leaseReply[0];
    const leases = new Map<string, GatewayLease>();
    for (const [gatewayId, raw] of Object.entries(leaseReply[1] as Record<string, string>)) {
      const lease = decodeGatewayLease(raw);
      if (lease !== undefined) leases.set(gatewayId, lease);
    }
    const leaseOf = (gatewayId: string): GatewayLease | undefined => leases.get(gatewayId);
    const result = new Map<string, UserPresence>();
    userIds.forEach((userId, index) => {
      const reply = replies[index];
      if (reply === undefined) return;
      if (reply[0]) throw reply[0];
      const hash = reply[1] as Record<string, string>;
      const entries: Array<readonly [string, DeviceEntry]> = [];
      let storedSeenMs: number | null = null;
      for (const [field, raw] of Object.entries(hash)) {
        if (field === 'seen') {
          const seenMs = Number(raw);
          if (Number.isFinite(seenMs)) storedSeenMs = seenMs;
        } else if (field.startsWith('d:')) {
          const entry = decodeDeviceEntry(raw);
          if (entry !== undefined) entries.push([field.slice(2), entry]);
        }
      }
      result.set(userId, summarizeUser(entries, storedSeenMs, leaseOf, nowMs));
    });
    return result;
  }

  return {
    registerDevice(registration) {
      return run(
        { operation: 'registerDevice', userId: registration?.userId, deviceId: registration?.deviceId },
        async () => {
          validateRegistration(registration);
          const nowMs = registration.nowMs ?? clock();
          const entry: DeviceEntry = {
            gatewayId: registration.gatewayId,
            gatewayInstanceId: registration.gatewayInstanceId,
            connectionId: registration.connectionId,
            sinceMs: nowMs,
            expiresAtMs: nowMs + registration.ttlMs,
          };
          const online = await redis.cmPresenceRegister(
            userKey(registration.userId),
            leasesKey,
            deviceField(registration.deviceId),
            encodeDeviceEntry(entry),
            String(nowMs),
            String(Math.max(retentionMs, registration.ttlMs)),
          );
          return online === 1;
        },
      );
    },

    refreshDevice(refresh) {
      return run({ operation: 'refreshDevice', userId: refresh?.userId, deviceId: refresh?.deviceId }, async () => {
        validateRefresh(refresh);
        return (await redis.cmPresenceRefresh(...refreshArgs(refresh))) === 1;
      });
    },

    refreshDevices(refreshes) {
      return run({ operation: 'refreshDevices' }, async () => {
        refreshes.forEach(validateRefresh);
        if (refreshes.length === 0) return [];
        const pipeline = redis.pipeline();
        for (const refresh of refreshes)
          (pipeline as unknown as ScriptedPipeline).cmPresenceRefresh(...refreshArgs(refresh));
        const replies = (await pipeline.exec()) ?? [];
        return refreshes.map((_, index) => {
          const reply = replies[index];
          if (reply === undefined)
            throw new PresenceError('CM_ERR_PRESENCE_UNAVAILABLE', 'refreshDevices: missing reply');
          if (reply[0]) throw reply[0];
          return reply[1] === 1;
        });
      });
    },

    unregisterDevice(unregistration) {
      return run(
        { operation: 'unregisterDevice', userId: unregistration?.userId, deviceId: unregistration?.deviceId },
        async () => {
          validateUnregistration(unregistration);
          const nowMs = unregistration.nowMs ?? clock();
          const removed = await redis.cmPresenceUnregister(
            userKey(unregistration.userId),
            leasesKey,
            deviceField(unregistration.deviceId),
            unregistration.connectionId,
            String(nowMs),
            String(retentionMs),
          );
          return removed === 1;
        },
      );
    },

    acquireGateway(request) {
      return run({ operation: 'acquireGateway', gatewayId: request?.gatewayId }, async () => {
        validateLeaseRequest('acquireGateway', request);
        const nowMs = request.nowMs ?? clock();
        const previous = await redis.cmPresenceAcquireGateway(
          leasesKey,
          request.gatewayId,
          request.instanceId,
          String(nowMs),
          String(nowMs + request.ttlMs),
        );
        return { previousInstanceId: previous ?? null };
      });
    },

    refreshGateway(request) {
      return run({ operation: 'refreshGateway', gatewayId: request?.gatewayId }, async () => {
        validateLeaseRequest('refreshGateway', request);
        const nowMs = request.nowMs ?? clock();
        const status = await redis.cmPresenceRefreshGateway(
          leasesKey,
          request.gatewayId,
          request.instanceId,
          String(nowMs),
          String(nowMs + request.ttlMs),
        );
        return status as GatewayRefreshStatus;
      });
    },

    releaseGateway(release) {
      return run({ operation: 'releaseGateway', gatewayId: release?.gatewayId }, async () => {
        validateLeaseRelease(release);
        const nowMs = release.nowMs ?? clock();
        return (
          (await redis.cmPresenceReleaseGateway(leasesKey, release.gatewayId, release.instanceId, String(nowMs))) === 1
        );
      });
    },

    onlineDevices(userId) {
      return run({ operation: 'onlineDevices', userId }, async () => {
        validateUserId('onlineDevices', userId);
        return (await readUsers('onlineDevices', [userId])).get(userId)?.devices ?? [];
      });
    },

    onlineDevicesOfUsers(userIds) {
      return run({ operation: 'onlineDevicesOfUsers' }, async () => {
        validateUserIds('onlineDevicesOfUsers', userIds);
        const presence = await readUsers('onlineDevicesOfUsers', userIds);
        return new Map(userIds.map((userId) => [userId, presence.get(userId)?.devices ?? []]));
      });
    },

    lastSeen(userId) {
      return run({ operation: 'lastSeen', userId }, async () => {
        validateUserId('lastSeen', userId);
        return (await readUsers('lastSeen', [userId])).get(userId)?.lastSeenMs ?? null;
      });
    },

    lastSeenOfUsers(userIds) {
      return run({ operation: 'lastSeenOfUsers' }, async () => {
        validateUserIds('lastSeenOfUsers', userIds);
        const presence = await readUsers('lastSeenOfUsers', userIds);
        return new Map(userIds.map((userId) => [userId, presence.get(userId)?.lastSeenMs ?? null]));
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      if (ownsClient) {
        try {
          await client.quit();
        } catch {
          client.disconnect();
        }
      }
    },
  };
}
