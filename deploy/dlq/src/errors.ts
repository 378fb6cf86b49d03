import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';

/** Every error @chatmesh/dlq throws itself. Codes are `CM_ERR_DLQ_*` (see docs/errors.md). */
export class DlqError extends ChatmeshError {
  override readonly name: string = 'DlqError';

  constructor(code: ErrorCode, message?: string, options: ChatmeshErrorOptions = {}) {
    super(code, message, options);
  }
}
