import { ChatmeshError, type ErrorCode } from '@chatmesh/errors';

/** The codes a command may be rejected with: they go back to the sending device, nothing is stored. */
export type RejectCode = Extract<ErrorCode, `CM_ERR_CHAT_${string}` | `CM_ERR_ATTACHMENT_${string}`>;

/**
 * A command refused by the chat's rules. It is answered (a CommandResult with `accepted: false` and this
 * code) and its offset committed; it is never retried or dead-lettered, because the same command would be
 * refused again.
 */
export class CommandRejectedError extends ChatmeshError {
  override readonly name = 'CommandRejectedError';
  readonly chatId: string;

  constructor(code: RejectCode, message: string, chatId: string) {
    super(code, message, { context: { chatId } });
    this.chatId = chatId;
  }
}

/** Shorthand used by the validators. */
export function reject(code: RejectCode, message: string, chatId: string): never {
  throw new CommandRejectedError(code, message, chatId);
}
