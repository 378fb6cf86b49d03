/**
 * The in-process presence registry for embedded mode and tests: the same rules as the Redis one
 * (it passes the same contract suite), with time taken from an injectable clock.
 */
import { DEFAULT_LAST_SEEN_RETENTION_MS } from './defaults.js';
import { PresenceError } from './errors.js';
import { deviceDeadlineMs, summarizeUser, type DeviceEntry, type GatewayLease } from './internal/liveness.js';
import {
  validateLeaseRelease,
  validateLeaseRequest,
  validateRefresh,
  validateRegistration,
  validateUnregistration,
  validateUserId,
  validateUserIds,
} from './internal/validate.js';
import type {
  DeviceRefresh,
  GatewayAcquisition,
  GatewayRefreshStatus,
  OnlineDevice,
  PresenceRegistry,
} from './types.js';

/** Options of {@link createMemoryPresenceRegistry}. */
export interface MemoryPresenceRegistryOptions {
  /** The time source every TTL is measured with; tests pass a fake one. @default Date.now */
  readonly clock?: () => number;
  /**
   * How long a user's record (and so last seen) is kept after the last write for that user,
   * as the Redis registry's key expiry does. @default 2,592,000,000 (30 days)
   */
  readonly lastSeenRetentionMs?: number;
}

interface UserRecord {
  readonly devices: Map<string, DeviceEntry>;
  lastSeenMs: number | null;
  retainUntilMs: number;
}

/**
 * Creates an in-process {@link PresenceRegistry}. Nothing survives the process, which is what
 * presence needs in embedded mode (a restart means every socket is gone anyway).
 * @throws PresenceError CM_ERR_PRESENCE_INVALID_OPTIONS for a non-positive retention.
 */
export function createMemoryPresenceRegistry(options: MemoryPresenceRegistryOptions = {}): PresenceRegistry {
  const clock = options.clock ?? Date.now;
  const retentionMs = options.lastSeenRetentionMs ?? DEFAULT_LAST_SEEN_RETENTION_MS;
  if (!Number.isInteger(retentionMs) || retentionMs <= 0) {
    throw new PresenceError(
      'CM_ERR_PRESENCE_INVALID_OPTIONS',
      `lastSeenRetentionMs must be a positive integer (got ${String(retentionMs)})`,
    );
  }
  const users = new Map<string, UserRecord>();
  const leases = new Map<string, GatewayLease>();
  let closed = false;
  const leaseOf = (gatewayId: string): GatewayLease | undefined => leases.get(gatewayId);

  function ensureOpen(operation: string): void {
    if (closed) throw new PresenceError('CM_ERR_PRESENCE_CLOSED', undefined, { context: { operation } });
  }

  /** The live record of a user, dropping one whose retention ran out (as its Redis key would expire). */
  function readUser(userId: string, nowMs: number): UserRecord | undefined {
    const record = users.get(userId);
    if (record !== undefined && record.retainUntilMs <= nowMs) {
      users.delete(userId);
      return undefined;
    }
    return record;
  }

  function writeUser(userId: string, nowMs: number, ttlMs: number): UserRecord {
    const record = readUser(userId, nowMs) ?? { devices: new Map(), lastSeenMs: null, retainUntilMs: 0 };
    record.retainUntilMs = nowMs + Math.max(retentionMs, ttlMs);
    users.set(userId, record);
    return record;
  }

  function raiseLastSeen(record: UserRecord, ms: number): void {
    if (record.lastSeenMs === null || ms > record.lastSeenMs) record.lastSeenMs = ms;
  }

  /** Removes the user's dead entries and folds their deadlines into last seen (the Lua `prune`). */
  function prune(record: UserRecord, nowMs: number): void {
    for (const [deviceId, entry] of record.devices) {
      const deadlineMs = deviceDeadlineMs(entry, leaseOf(entry.gatewayId));
      if (deadlineMs <= nowMs) {
        record.devices.delete(deviceId);
        raiseLastSeen(record, deadlineMs);
      }
    }
  }

  function refreshOne(refresh: DeviceRefresh): boolean {
    validateRefresh(refresh);
    const nowMs = refresh.nowMs ?? clock();
    const record = readUser(refresh.userId, nowMs);
    const entry = record?.devices.get(refresh.deviceId);
    if (record === undefined || entry === undefined || entry.connectionId !== refresh.connectionId) return false;
    if (entry.expiresAtMs <= nowMs) {
      // Its own TTL ran out: it is gone, whatever its lease says; the gateway registers it again.
      record.devices.delete(refresh.deviceId);
      raiseLastSeen(record, entry.expiresAtMs);
      return false;
    }
    record.devices.set(refresh.deviceId, { ...entry, expiresAtMs: nowMs + refresh.ttlMs });
    writeUser(refresh.userId, nowMs, refresh.ttlMs);
    return true;
  }

  function presenceOf(userId: string, nowMs: number): { devices: OnlineDevice[]; lastSeenMs: number | null } {
    const record = readUser(userId, nowMs);
    if (record === undefined) return { devices: [], lastSeenMs: null };
    return summarizeUser(record.devices, record.lastSeenMs, leaseOf, nowMs);
  }

  return {
    async registerDevice(registration) {
      ensureOpen('registerDevice');
      validateRegistration(registration);
      const nowMs = registration.nowMs ?? clock();
      const record = writeUser(registration.userId, nowMs, registration.ttlMs);
      prune(record, nowMs);
      const entry: DeviceEntry = {
        gatewayId: registration.gatewayId,
        gatewayInstanceId: registration.gatewayInstanceId,
        connectionId: registration.connectionId,
        sinceMs: nowMs,
        expiresAtMs: nowMs + registration.ttlMs,
      };
      record.devices.set(registration.deviceId, entry);
      return deviceDeadlineMs(entry, leaseOf(entry.gatewayId)) > nowMs;
    },

    async refreshDevice(refresh) {
      ensureOpen('refreshDevice');
      return refreshOne(refresh);
    },

    async refreshDevices(refreshes) {
      ensureOpen('refreshDevices');
      refreshes.forEach(validateRefresh);
      return refreshes.map(refreshOne);
    },

    async unregisterDevice(unregistration) {
      ensureOpen('unregisterDevice');
      validateUnregistration(unregistration);
      const nowMs = unregistration.nowMs ?? clock();
      const record = readUser(unregistration.userId, nowMs);
      const entry = record?.devices.get(unregistration.deviceId);
      if (record === undefined || entry === undefined || entry.connectionId !== unregistration.connectionId)
        return false;
      record.devices.delete(unregistration.deviceId);
      prune(record, nowMs);
      raiseLastSeen(record, nowMs);
      writeUser(unregistration.userId, nowMs, 0);
      return true;
    },

    async acquireGateway(request): Promise<GatewayAcquisition> {
      ensureOpen('acquireGateway');
      validateLeaseRequest('acquireGateway', request);
      const nowMs = request.nowMs ?? clock();
      const previous = leases.get(request.gatewayId);
      leases.set(request.gatewayId, {
        instanceId: request.instanceId,
        sinceMs: previous?.instanceId === request.instanceId ? previous.sinceMs : nowMs,
        expiresAtMs: nowMs + request.ttlMs,
      });
      return { previousInstanceId: previous?.instanceId ?? null };
    },

    async refreshGateway(request): Promise<GatewayRefreshStatus> {
      ensureOpen('refreshGateway');
      validateLeaseRequest('refreshGateway', request);
      const nowMs = request.nowMs ?? clock();
      const lease = leases.get(request.gatewayId);
      if (lease === undefined) return 'missing';
      if (lease.instanceId !== request.instanceId) return 'lost';
      leases.set(request.gatewayId, { ...lease, expiresAtMs: nowMs + request.ttlMs });
      return lease.expiresAtMs > nowMs ? 'renewed' : 'resumed';
    },

    async releaseGateway(release) {
      ensureOpen('releaseGateway');
      validateLeaseRelease(release);
      const nowMs = release.nowMs ?? clock();
      const lease = leases.get(release.gatewayId);
      if (lease === undefined || lease.instanceId !== release.instanceId) return false;
      if (lease.expiresAtMs > nowMs) leases.set(release.gatewayId, { ...lease, expiresAtMs: nowMs });
      return true;
    },

    async onlineDevices(userId) {
      ensureOpen('onlineDevices');
      validateUserId('onlineDevices', userId);
      return presenceOf(userId, clock()).devices;
    },

    async onlineDevicesOfUsers(userIds) {
      ensureOpen('onlineDevicesOfUsers');
      validateUserIds('onlineDevicesOfUsers', userIds);
      const nowMs = clock();
      return new Map(userIds.map((userId) => [userId, presenceOf(userId, nowMs).devices]));
    },

    async lastSeen(userId) {
      ensureOpen('lastSeen');
      validateUserId('lastSeen', userId);
      return presenceOf(userId, clock()).lastSeenMs;
    },

    async lastSeenOfUsers(userIds) {
      ensureOpen('lastSeenOfUsers');
      validateUserIds('lastSeenOfUsers', userIds);
      const nowMs = clock();
      return new Map(userIds.map((userId) => [userId, presenceOf(userId, nowMs).lastSeenMs]));
    },

    async close() {
      closed = true;
      users.clear();
      leases.clear();
    },
  };
}
