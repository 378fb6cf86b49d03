import { ChatmeshError, type ErrorCode } from '@chatmesh/errors';

/** Fields a gateway error may carry. */
export type GatewayErrorContext = {
  readonly gatewayId?: string;
  readonly userId?: string;
  readonly deviceId?: string;
  readonly host?: string;
  readonly port?: number;
  readonly mode?: string;
  readonly claim?: string;
};

/** Errors of the gateway's own: start-up, HTTP API and token checks. */
export class GatewayError extends ChatmeshError {
  override readonly name: string = 'GatewayError';
  constructor(
    code: ErrorCode,
    message: string,
    options: { context?: GatewayErrorContext; cause?: unknown; retriable?: boolean } = {},
  ) {
    super(code, message, options);
  }
}

/** A token the gateway refuses: `CM_ERR_AUTH_*`, answered with HTTP 401 and `{code, message}`. */
export class AuthError extends GatewayError {
  override readonly name = 'AuthError';
}
