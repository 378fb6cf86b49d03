import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';

/** Context fields a {@link ClientError} may carry. */
export interface ClientErrorContext {
  readonly chatId?: string;
  readonly requestId?: string;
  readonly clientMessageId?: string;
  /** The server's reason (`CM_ERR_CHAT_*`, `CM_ERR_PROTOCOL_*`) for a refused command or frame. */
  readonly serverCode?: string;
  /** The WebSocket close code that ended the connection. */
  readonly closeCode?: number;
  readonly [key: string]: unknown;
}

/**
 * Every error the SDK raises: a {@link ChatmeshError} with a `CM_ERR_CLIENT_*` code. For a refused
 * command (`CM_ERR_CLIENT_COMMAND_REJECTED`), `serverCode` is the server's own code, so
 * `error.serverCode === 'CM_ERR_CHAT_FORBIDDEN'` tells why.
 */
export class ClientError extends ChatmeshError {
  override readonly name = 'ClientError';
  /** The server's code when the server refused something, else undefined. */
  readonly serverCode: string | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: Omit<ChatmeshErrorOptions, 'context'> & { context?: ClientErrorContext } = {},
  ) {
    super(code, message, options);
    this.serverCode = options.context?.serverCode;
  }
}
