/**
 * @chatmesh/errors: the base error class with stable `CM_ERR_*` codes, the single code table,
 * and the one retry helper every package uses.
 */
export { ChatmeshError, isChatmeshError, isRetriable, type ChatmeshErrorOptions } from './chatmesh-error.js';
export { ERROR_CODES, defineCodes, isErrorCode, type ErrorCode, type ErrorCodeEntry } from './codes/index.js';
export {
  retry,
  compileRetryPolicy,
  computeRetryDelayMs,
  isOutage,
  OUTAGE_CODES,
  RETRY_DEFAULTS,
  type RetryPolicy,
  type RetryPolicyOptions,
  type RetryOptions,
} from './retry.js';
export { renderErrorDocs } from './render-error-docs.js';
