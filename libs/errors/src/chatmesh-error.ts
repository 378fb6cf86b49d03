import { ERROR_CODES, type ErrorCode } from './codes/index.js';

/** Options every {@link ChatmeshError} accepts besides its code. */
export interface ChatmeshErrorOptions {
  /** The error that caused this one, kept for logs and `error.cause` chains. */
  cause?: unknown;
  /**
   * Overrides the table's `retriable` flag for this instance (for example a network error
   * that the table marks retriable but that the caller knows is permanent).
   */
  retriable?: boolean;
  /** Typed context (topic, partition, chatId, deviceId, variable...) for logs and tests. */
  context?: Readonly<Record<string, unknown>>;
}

/**
 * The base of every error chatmesh throws across a package boundary.
 *
 * It carries a stable machine-readable `code` from the single table in `codes/`, a `retriable`
 * flag that the retry helper and the bus consult, the `cause`, and typed context fields.
 * The message defaults to the table's text, so a caller only adds the specifics.
 */
export class ChatmeshError extends Error {
  override readonly name: string = 'ChatmeshError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message?: string, options: ChatmeshErrorOptions = {}) {
    const entry = ERROR_CODES[code];
    super(message ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? entry.retriable;
    this.context = Object.freeze({ ...(options.context ?? {}) });
  }

  /** A plain object for structured logs and wire errors; never includes the stack. */
  toJSON(): { name: string; code: ErrorCode; message: string; retriable: boolean; context: Record<string, unknown> } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      context: { ...this.context },
    };
  }
}

/** True when `error` is a {@link ChatmeshError}, optionally with the given code. */
export function isChatmeshError(error: unknown, code?: ErrorCode): error is ChatmeshError {
  return error instanceof ChatmeshError && (code === undefined || error.code === code);
}

/** Whether an unknown error may succeed on retry: chatmesh errors say so themselves; anything else is not retried. */
export function isRetriable(error: unknown): boolean {
  return error instanceof ChatmeshError ? error.retriable : false;
}
