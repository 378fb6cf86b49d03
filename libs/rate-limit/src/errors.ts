import { ChatmeshError, type ErrorCode } from '@chatmesh/errors';

/** Fields a rate-limit error may carry. */
export type RateLimitErrorContext = {
  readonly key?: string;
  readonly ratePerSecond?: number;
  readonly burst?: number;
  readonly cost?: number;
};

/** Every error of @chatmesh/rate-limit: `CM_ERR_RATE_LIMIT_*`. */
export class RateLimitError extends ChatmeshError {
  override readonly name = 'RateLimitError';
  constructor(
    code: Extract<ErrorCode, `CM_ERR_RATE_LIMIT_${string}`>,
    message: string,
    options: { context?: RateLimitErrorContext; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}
