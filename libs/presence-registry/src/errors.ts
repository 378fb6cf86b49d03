/**
 * The presence registry's error class: a {@link ChatmeshError} with the user, device or gateway it concerns.
 */
import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';

/** Where in the registry an error happened; every field is optional. */
export interface PresenceErrorContext {
  readonly operation?: string;
  readonly userId?: string;
  readonly deviceId?: string;
  readonly gatewayId?: string;
  readonly [extra: string]: unknown;
}

/** Every error @chatmesh/presence-registry throws. Codes are `CM_ERR_PRESENCE_*` (see docs/errors.md). */
export class PresenceError extends ChatmeshError {
  override readonly name: string = 'PresenceError';
  readonly operation: string | undefined;
  readonly userId: string | undefined;
  readonly deviceId: string | undefined;
  readonly gatewayId: string | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: Omit<ChatmeshErrorOptions, 'context'> & { context?: PresenceErrorContext } = {},
  ) {
    super(code, message, options);
    this.operation = options.context?.operation;
    this.userId = options.context?.userId;
    this.deviceId = options.context?.deviceId;
    this.gatewayId = options.context?.gatewayId;
  }
}
