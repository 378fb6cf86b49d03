import { AttachmentError } from './attachment-error.js';

/** Size limits per kind and the allowed content types. */
export interface UploadPolicy {
  readonly maxImageBytes: number;
  readonly maxVideoBytes: number;
  readonly maxAudioBytes: number;
  readonly maxFileBytes: number;
  /** `type/subtype` or `type/*`, lower case. */
  readonly allowedTypes: readonly string[];
}

/** The kind a content type's limit comes from. */
export function kindOf(contentType: string): 'image' | 'video' | 'audio' | 'file' {
  const family = contentType.split('/')[0];
  return family === 'image' || family === 'video' || family === 'audio' ? family : 'file';
}

/** The largest upload allowed for a content type. */
export function maxBytesOf(policy: UploadPolicy, contentType: string): number {
  const kind = kindOf(contentType);
  if (kind === 'image') return policy.maxImageBytes;
  if (kind === 'video') return policy.maxVideoBytes;
  if (kind === 'audio') return policy.maxAudioBytes;
  return policy.maxFileBytes;
}

/** The media type without parameters, lower case (`Image/PNG; x=1` → `image/png`). */
export function normalizeContentType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * Refuses an upload the policy does not allow, before anything is signed or stored.
 * @throws AttachmentError CM_ERR_ATTACHMENT_TYPE_NOT_ALLOWED, CM_ERR_ATTACHMENT_TOO_LARGE
 */
export function checkUpload(policy: UploadPolicy, sizeBytes: number, contentType: string): void {
  const type = normalizeContentType(contentType);
  const allowed = policy.allowedTypes.some((pattern) =>
    pattern.endsWith('/*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern,
  );
  if (!allowed) {
    throw new AttachmentError('CM_ERR_ATTACHMENT_TYPE_NOT_ALLOWED', `content type ${type} is not allowed`, {
      context: { contentType: type },
    });
  }
  const max = maxBytesOf(policy, type);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 1 || sizeBytes > max) {
    throw new AttachmentError(
      'CM_ERR_ATTACHMENT_TOO_LARGE',
      `a ${kindOf(type)} may have 1-${max} bytes (declared ${sizeBytes})`,
      { context: { sizeBytes, maxBytes: max } },
    );
  }
}
