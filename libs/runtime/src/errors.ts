import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';

/** Where in the runtime an error happened. */
export interface RuntimeErrorContext {
  readonly service?: string;
  readonly topic?: string;
  readonly groupId?: string;
  readonly [extra: string]: unknown;
}

/** Every error @chatmesh/runtime throws; codes are `CM_ERR_RUNTIME_*` (see docs/errors.md). */
export class RuntimeError extends ChatmeshError {
  override readonly name: string = 'RuntimeError';
  readonly service: string | undefined;
  readonly topic: string | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: Omit<ChatmeshErrorOptions, 'context'> & { context?: RuntimeErrorContext } = {},
  ) {
    super(code, message, options);
    this.service = options.context?.service;
    this.topic = options.context?.topic;
  }
}
