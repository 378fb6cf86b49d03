import { ChatmeshError, type ChatmeshErrorOptions } from '@chatmesh/errors';

/** The CM_ERR_ATTACHMENT_* codes. */
export type AttachmentErrorCode =
  | 'CM_ERR_ATTACHMENT_TOO_LARGE'
  | 'CM_ERR_ATTACHMENT_TYPE_NOT_ALLOWED'
  | 'CM_ERR_ATTACHMENT_RATE_LIMITED'
  | 'CM_ERR_ATTACHMENT_INVALID_REQUEST'
  | 'CM_ERR_ATTACHMENT_NOT_FOUND'
  | 'CM_ERR_ATTACHMENT_NOT_UPLOADED'
  | 'CM_ERR_ATTACHMENT_MISMATCH'
  | 'CM_ERR_ATTACHMENT_NOT_OWNER'
  | 'CM_ERR_ATTACHMENT_EXPIRED'
  | 'CM_ERR_ATTACHMENT_URL_INVALID';

/** HTTP status of each refusal, for the gateway's API. */
export const ATTACHMENT_HTTP_STATUS: Readonly<Record<AttachmentErrorCode, number>> = {
  CM_ERR_ATTACHMENT_TOO_LARGE: 413,
  CM_ERR_ATTACHMENT_TYPE_NOT_ALLOWED: 415,
  CM_ERR_ATTACHMENT_RATE_LIMITED: 429,
  CM_ERR_ATTACHMENT_INVALID_REQUEST: 400,
  CM_ERR_ATTACHMENT_NOT_FOUND: 404,
  CM_ERR_ATTACHMENT_NOT_UPLOADED: 409,
  CM_ERR_ATTACHMENT_MISMATCH: 409,
  CM_ERR_ATTACHMENT_NOT_OWNER: 403,
  CM_ERR_ATTACHMENT_EXPIRED: 410,
  CM_ERR_ATTACHMENT_URL_INVALID: 403,
};

/** A refused attachment request or reference; `code` says why. */
export class AttachmentError extends ChatmeshError {
  override readonly name = 'AttachmentError';
  declare readonly code: AttachmentErrorCode;

  constructor(code: AttachmentErrorCode, message: string, options: ChatmeshErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Whether `error` is a refusal with a CM_ERR_ATTACHMENT_* code (from this lib or an object store). */
export function attachmentCodeOf(error: unknown): AttachmentErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in ATTACHMENT_HTTP_STATUS ? (code as AttachmentErrorCode) : undefined;
}
