/**
 * The presence registry contract: which devices of a user are connected to which gateway right now,
 * and when the user was last seen. Both implementations (`createMemoryPresenceRegistry` and
 * `createRedisPresenceRegistry`) pass the same contract suite.
 *
 * Liveness has two layers (see the README, "TTL and heartbeats"):
 * - every device entry has its own deadline (`ttlMs`), extended by {@link PresenceRegistry.refreshDevice};
 * - an entry registered with `gatewayInstanceId` is also bound to that gateway's lease
 *   ({@link PresenceRegistry.acquireGateway} / {@link PresenceRegistry.refreshGateway}): it is online only
 *   while the lease is held by that instance and not lapsed. One lease write per gateway heartbeat keeps
 *   100K devices online, and a gateway that dies takes all of them offline when its lease lapses.
 *
 * @module
 */

/** A device whose WebSocket just connected to a gateway. */
export interface DeviceRegistration {
  readonly userId: string;
  readonly deviceId: string;
  /** The gateway holding the socket; routing publishes to `gateway.<gatewayId>.deliveries`. */
  readonly gatewayId: string;
  /**
   * Unique per socket (a new one on every reconnect), so that the late close of an old socket
   * cannot unregister the newer connection of the same device.
   */
  readonly connectionId: string;
  /** The entry's own time to live; {@link PresenceRegistry.refreshDevice} extends it. */
  readonly ttlMs: number;
  /**
   * Binds the entry to the lease of this gateway instance: the device is online only while that
   * instance holds the gateway's lease. Gateways always pass it; without it the entry lives by its
   * own TTL alone.
   */
  readonly gatewayInstanceId?: string;
  /** The current time; tests pin it. @default the registry's clock */
  readonly nowMs?: number;
}

/** A heartbeat for one device entry. */
export interface DeviceRefresh {
  readonly userId: string;
  readonly deviceId: string;
  /** Must match the registered connection, or nothing is refreshed. */
  readonly connectionId: string;
  /** The new time to live, counted from now. */
  readonly ttlMs: number;
  /** @default the registry's clock */
  readonly nowMs?: number;
}

/** The close of one device's socket. */
export interface DeviceUnregistration {
  readonly userId: string;
  readonly deviceId: string;
  /** Only an entry with this connection id is removed. */
  readonly connectionId: string;
  /** @default the registry's clock */
  readonly nowMs?: number;
}

/** A gateway instance taking or renewing the lease on its gateway id. */
export interface GatewayLeaseRequest {
  /** The stable gateway id (the StatefulSet pod name), which names its delivery topic. */
  readonly gatewayId: string;
  /** Unique per process start (a random UUID), so a restarted gateway never revives the ghosts of its predecessor. */
  readonly instanceId: string;
  /** How long the lease lasts without another refresh; refresh every `ttlMs / 3` or so. */
  readonly ttlMs: number;
  /** @default the registry's clock */
  readonly nowMs?: number;
}

/** A gateway instance giving its lease up on a clean shutdown. */
export interface GatewayLeaseRelease {
  readonly gatewayId: string;
  readonly instanceId: string;
  /** @default the registry's clock */
  readonly nowMs?: number;
}

/** What {@link PresenceRegistry.acquireGateway} found. */
export interface GatewayAcquisition {
  /** The instance that held the lease before (live or lapsed), or null for the first start of this gateway id. */
  readonly previousInstanceId: string | null;
}

/**
 * The outcome of {@link PresenceRegistry.refreshGateway}:
 * - `renewed`: held by this instance and still live;
 * - `resumed`: held by this instance but it had lapsed, so its devices were offline meanwhile and some
 *   entries may have been pruned: refresh every device and re-register those whose refresh returns false;
 * - `lost`: another instance acquired the gateway id: this instance was replaced and should close its sockets;
 * - `missing`: there is no lease (never acquired, or Redis lost its data): acquire it again and register
 *   every open socket again, since their entries are probably gone too.
 */
export type GatewayRefreshStatus = 'renewed' | 'resumed' | 'lost' | 'missing';

/** One connected device as the routing and presence code sees it. */
export interface OnlineDevice {
  readonly deviceId: string;
  readonly gatewayId: string;
  readonly connectionId: string;
  /** When this connection was registered (epoch ms). */
  readonly sinceMs: number;
}

/**
 * The connection registry every service consults. All methods are safe to call concurrently.
 * Every method rejects with a `PresenceError`: `CM_ERR_PRESENCE_INVALID_ARGUMENT` for bad input,
 * `CM_ERR_PRESENCE_UNAVAILABLE` (retriable) when Redis cannot be reached, `CM_ERR_PRESENCE_CLOSED` after `close()`.
 */
export interface PresenceRegistry {
  /**
   * Records that a device connected (replacing any earlier connection of the same device, so a
   * reconnect through another gateway moves it). Entries of this user that are already dead are
   * pruned and folded into last seen.
   * @returns whether the device is online now: false when it is bound to a gateway lease that this
   *   instance does not hold or that has lapsed.
   */
  registerDevice(registration: DeviceRegistration): Promise<boolean>;
  /**
   * Extends a device entry's own deadline to now + `ttlMs`.
   * @returns false when the entry vanished (expired, unregistered, or replaced by another connection):
   *   the gateway should register the device again if the socket is still open.
   */
  refreshDevice(refresh: DeviceRefresh): Promise<boolean>;
  /** {@link refreshDevice} for many devices in one pipelined round trip; results in input order. */
  refreshDevices(refreshes: readonly DeviceRefresh[]): Promise<boolean[]>;
  /**
   * Removes a device entry if, and only if, it still carries `connectionId`; sets last seen to now.
   * @returns whether an entry was removed (false for a stale close after a reconnect).
   */
  unregisterDevice(unregistration: DeviceUnregistration): Promise<boolean>;
  /**
   * Takes the lease on a gateway id for this instance, whoever held it: call once at gateway start,
   * before registering devices. Devices bound to any earlier instance are offline from now on.
   */
  acquireGateway(request: GatewayLeaseRequest): Promise<GatewayAcquisition>;
  /** The gateway's heartbeat: extends its lease to now + `ttlMs` if this instance holds it. */
  refreshGateway(request: GatewayLeaseRequest): Promise<GatewayRefreshStatus>;
  /**
   * Ends the lease now (clean shutdown): every device bound to this instance goes offline at once,
   * without one write per device. @returns false when another instance holds the lease.
   */
  releaseGateway(release: GatewayLeaseRelease): Promise<boolean>;
  /** The live devices of a user, by device id. */
  onlineDevices(userId: string): Promise<OnlineDevice[]>;
  /**
   * The live devices of many users in one round trip (fan-out routes up to 1,024 users of a group
   * message at once). Every requested user is a key of the result; offline users map to `[]`.
   */
  onlineDevicesOfUsers(userIds: readonly string[]): Promise<Map<string, OnlineDevice[]>>;
  /**
   * The last moment a device of the user went offline (unregistered, expired, or its gateway lease
   * lapsed), in epoch ms, or null when none is known within the retention. While a device is online
   * this still returns the earlier moment: callers show "online" from {@link onlineDevices}.
   */
  lastSeen(userId: string): Promise<number | null>;
  /** {@link lastSeen} for many users in one round trip; every requested user is a key of the result. */
  lastSeenOfUsers(userIds: readonly string[]): Promise<Map<string, number | null>>;
  /** Releases the connection (a Redis client passed in by the caller is left open). Idempotent. */
  close(): Promise<void>;
}
