/**
 * The bus's error class: a {@link ChatmeshError} with the topic, partition and group it concerns.
 */
import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';

/** Where on the bus an error happened; every field is optional. */
export interface BusErrorContext {
  readonly topic?: string;
  readonly partition?: number;
  readonly groupId?: string;
  readonly offset?: string;
  readonly [extra: string]: unknown;
}

/** Every error @chatmesh/bus throws. Codes are `CM_ERR_BUS_*` (see docs/errors.md). */
export class BusError extends ChatmeshError {
  override readonly name: string = 'BusError';
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly groupId: string | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: Omit<ChatmeshErrorOptions, 'context'> & { context?: BusErrorContext } = {},
  ) {
    super(code, message, options);
    this.topic = options.context?.topic;
    this.partition = options.context?.partition;
    this.groupId = options.context?.groupId;
  }
}
