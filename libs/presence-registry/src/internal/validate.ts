/**
 * Argument checks shared by both implementations, so both reject the same calls with the same code.
 */
import { PresenceError, type PresenceErrorContext } from '../errors.js';
import type {
  DeviceRefresh,
  DeviceRegistration,
  DeviceUnregistration,
  GatewayLeaseRelease,
  GatewayLeaseRequest,
} from '../types.js';

/** Ids longer than this are refused: they are keys and hash fields, and nothing legitimate is that long. */
export const MAX_ID_LENGTH = 512;
/** A TTL longer than a year is a unit mistake (seconds passed as ms are shorter, not longer). */
export const MAX_TTL_MS = 365 * 24 * 3600 * 1000;

type Problems = string[];

function checkId(problems: Problems, name: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0)
    problems.push(`${name} must be a non-empty string (got ${show(value)})`);
  else if (value.length > MAX_ID_LENGTH)
    problems.push(`${name} must be at most ${MAX_ID_LENGTH} characters (got ${value.length})`);
}

function checkTtl(problems: Problems, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_TTL_MS) {
    problems.push(`ttlMs must be an integer in [1, ${MAX_TTL_MS}] (got ${show(value)})`);
  }
}

function checkNow(problems: Problems, value: unknown): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)) {
    problems.push(`nowMs must be a non-negative integer when given (got ${show(value)})`);
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
}

function fail(operation: string, problems: Problems, context: PresenceErrorContext): void {
  if (problems.length === 0) return;
  throw new PresenceError('CM_ERR_PRESENCE_INVALID_ARGUMENT', `${operation}: ${problems.join('; ')}`, {
    context: { operation, ...context },
  });
}

/** @throws PresenceError CM_ERR_PRESENCE_INVALID_ARGUMENT listing every problem. */
export function validateRegistration(r: DeviceRegistration): void {
  const problems: Problems = [];
  checkId(problems, 'userId', r?.userId);
  checkId(problems, 'deviceId', r?.deviceId);
  checkId(problems, 'gatewayId', r?.gatewayId);
  checkId(problems, 'connectionId', r?.connectionId);
  if (r?.gatewayInstanceId !== undefined) checkId(problems, 'gatewayInstanceId', r.gatewayInstanceId);
  checkTtl(problems, r?.ttlMs);
  checkNow(problems, r?.nowMs);
  fail('registerDevice', problems, { userId: r?.userId, deviceId: r?.deviceId, gatewayId: r?.gatewayId });
}

/** @throws PresenceError CM_ERR_PRESENCE_INVALID_ARGUMENT listing every problem. */
export function validateRefresh(r: DeviceRefresh): void {
  const problems: Problems = [];
  checkId(problems, 'userId', r?.userId);
  checkId(problems, 'deviceId', r?.deviceId);
  checkId(problems, 'connectionId', r?.connectionId);
  checkTtl(problems, r?.ttlMs);
  checkNow(problems, r?.nowMs);
  fail('refreshDevice', problems, { userId: r?.userId, deviceId: r?.deviceId });
}

/** @throws PresenceError CM_ERR_PRESENCE_INVALID_ARGUMENT listing every problem. */
export function validateUnregistration(u: DeviceUnregistration): void {
  const problems: Problems = [];
  checkId(problems, 'userId', u?.userId);
  checkId(problems, 'deviceId', u?.deviceId);
  checkId(problems, 'connectionId', u?.connectionId);
  checkNow(problems, u?.nowMs);
  fail('unregisterDevice', problems, { userId: u?.userId, deviceId: u?.deviceId });
}

/** @throws PresenceError CM_ERR_PRESENCE_INVALID_ARGUMENT listing every problem. */
export function validateLeaseRequest(operation: string, l: GatewayLeaseRequest): void {
  const problems: Problems = [];
  checkId(problems, 'gatewayId', l?.gatewayId);
  checkId(problems, 'instanceId', l?.instanceId);
  checkTtl(problems, l?.ttlMs);
  checkNow(problems, l?.nowMs);
  fail(operation, problems, { gatewayId: l?.gatewayId });
}

/** @throws PresenceError CM_ERR_PRESENCE_INVALID_ARGUMENT listing every problem. */
export function validateLeaseRelease(l: GatewayLeaseRelease): void {
  const problems: Problems = [];
  checkId(problems, 'gatewayId', l?.gatewayId);
  checkId(problems, 'instanceId', l?.instanceId);
  checkNow(problems, l?.nowMs);
  fail('releaseGateway', problems, { gatewayId: l?.gatewayId });
}

/** @throws PresenceError CM_ERR_PRESENCE_INVALID_ARGUMENT for a non-array or a bad id. */
export function validateUserIds(operation: string, userIds: readonly string[]): void {
  if (!Array.isArray(userIds)) {
    fail(operation, [`userIds must be an array (got ${show(userIds)})`], {});
    return;
  }
  const problems: Problems = [];
  userIds.forEach((userId, index) => checkId(problems, `userIds[${index}]`, userId));
  fail(operation, problems.slice(0, 10), {});
}

/** @throws PresenceError CM_ERR_PRESENCE_INVALID_ARGUMENT for a bad id. */
export function validateUserId(operation: string, userId: string): void {
  const problems: Problems = [];
  checkId(problems, 'userId', userId);
  fail(operation, problems, { userId });
}
