/**
 * The liveness rules both implementations share: when a device entry dies, and how a user's entries
 * become online devices and a last-seen time. The Redis Lua scripts (`lua-scripts.ts`) repeat
 * {@link deviceDeadlineMs} for the pruning they do server-side; the contract suite keeps the two in step.
 */
import type { OnlineDevice } from '../types.js';

/** One device's entry as stored: its connection, where it is, and its own deadline. */
export interface DeviceEntry {
  readonly gatewayId: string;
  /** Set when the entry is bound to a gateway lease. */
  readonly gatewayInstanceId: string | undefined;
  readonly connectionId: string;
  readonly sinceMs: number;
  readonly expiresAtMs: number;
}

/** The lease one gateway instance holds on its gateway id. */
export interface GatewayLease {
  readonly instanceId: string;
  /** When this instance acquired the lease: devices of earlier instances died no later than this. */
  readonly sinceMs: number;
  readonly expiresAtMs: number;
}

/**
 * The moment the entry stops (or stopped) being online. An entry is online while `now < deadline`.
 * A bound entry dies at the earlier of its own deadline and its lease's end; if its instance was
 * replaced, at the latest when the new instance took over; without any lease it was never online.
 * Never earlier than `sinceMs`, so a zombie registration cannot move last seen backwards.
 */
export function deviceDeadlineMs(entry: DeviceEntry, lease: GatewayLease | undefined): number {
  if (entry.gatewayInstanceId === undefined) return entry.expiresAtMs;
  if (lease === undefined) return entry.sinceMs;
  const leaseEndMs = lease.instanceId === entry.gatewayInstanceId ? lease.expiresAtMs : lease.sinceMs;
  return Math.max(entry.sinceMs, Math.min(entry.expiresAtMs, leaseEndMs));
}

/** A user's entries seen at `nowMs`: the online devices (by device id) and the last-seen time. */
export interface UserPresence {
  readonly devices: OnlineDevice[];
  readonly lastSeenMs: number | null;
}

/**
 * Folds a user's stored entries into what callers see. Dead entries that no write has pruned yet
 * still count for last seen, so reads never depend on a cleanup having run.
 */
export function summarizeUser(
  entries: Iterable<readonly [deviceId: string, entry: DeviceEntry]>,
  storedLastSeenMs: number | null,
  leaseOf: (gatewayId: string) => GatewayLease | undefined,
  nowMs: number,
): UserPresence {
  const devices: OnlineDevice[] = [];
  let lastSeenMs = storedLastSeenMs;
  for (const [deviceId, entry] of entries) {
    const deadlineMs = deviceDeadlineMs(entry, leaseOf(entry.gatewayId));
    if (deadlineMs > nowMs) {
      devices.push({ deviceId, gatewayId: entry.gatewayId, connectionId: entry.connectionId, sinceMs: entry.sinceMs });
    } else if (lastSeenMs === null || deadlineMs > lastSeenMs) {
      lastSeenMs = deadlineMs;
    }
  }
  devices.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  return { devices, lastSeenMs };
}

/*
 * Stored forms (Redis hash values). Numbers are kept as decimal strings so that Lua's cjson, which
 * prints numbers with 14 significant digits, round-trips epoch milliseconds exactly.
 */

/** `{"g":gatewayId,"c":connectionId,"s":"sinceMs","e":"expiresAtMs","i"?:instanceId}` */
export function encodeDeviceEntry(entry: DeviceEntry): string {
  const stored: Record<string, string> = {
    g: entry.gatewayId,
    c: entry.connectionId,
    s: String(entry.sinceMs),
    e: String(entry.expiresAtMs),
  };
  if (entry.gatewayInstanceId !== undefined) stored['i'] = entry.gatewayInstanceId;
  return JSON.stringify(stored);
}

/** The entry, or undefined for a value that is not one (treated as absent, and pruned by the next write). */
export function decodeDeviceEntry(raw: string): DeviceEntry | undefined {
  const value = parseObject(raw);
  if (value === undefined) return undefined;
  const { g, c, s, e, i } = value;
  const sinceMs = Number(s);
  const expiresAtMs = Number(e);
  if (typeof g !== 'string' || typeof c !== 'string' || !Number.isFinite(sinceMs) || !Number.isFinite(expiresAtMs)) {
    return undefined;
  }
  return {
    gatewayId: g,
    connectionId: c,
    sinceMs,
    expiresAtMs,
    gatewayInstanceId: typeof i === 'string' ? i : undefined,
  };
}

/** `{"i":instanceId,"s":"sinceMs","e":"expiresAtMs"}`, written by the lease scripts. */
export function decodeGatewayLease(raw: string): GatewayLease | undefined {
  const value = parseObject(raw);
  if (value === undefined) return undefined;
  const sinceMs = Number(value['s']);
  const expiresAtMs = Number(value['e']);
  if (typeof value['i'] !== 'string' || !Number.isFinite(sinceMs) || !Number.isFinite(expiresAtMs)) return undefined;
  return { instanceId: value['i'], sinceMs, expiresAtMs };
}

function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
