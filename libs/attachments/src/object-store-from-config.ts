import { randomBytes } from 'node:crypto';

import type { SectionValues } from '@chatmesh/config';
import { ChatmeshError } from '@chatmesh/errors';

import type { ATTACHMENT_CONFIG } from './attachment-config.js';
import { createLocalObjectStore, type LocalObjectStore } from './local-object-store.js';
import type { ObjectStore } from './object-store.js';
import { createS3ObjectStore } from './s3-object-store.js';
import type { UploadPolicy } from './upload-policy.js';

/** The attachment section's values. */
export type AttachmentSettings = SectionValues<typeof ATTACHMENT_CONFIG>;

/** Which store the settings pick (`auto` resolved). */
export function storeKindOf(settings: AttachmentSettings): 'local' | 's3' {
  if (settings.store !== 'auto') return settings.store;
  return settings.s3Endpoint !== undefined || settings.s3AccessKeyId !== undefined ? 's3' : 'local';
}

/**
 * Opens the object store the settings pick. `baseUrl` is the gateway's own URL, for the local store's signed URLs.
 * @throws ChatmeshError CM_ERR_CONFIG_INVALID (s3 without keys, claim window not below the TTL),
 *   CM_ERR_ATTACHMENT_STORE_UNAVAILABLE
 */
export async function openObjectStore(
  settings: AttachmentSettings,
  baseUrl?: () => string,
): Promise<ObjectStore | LocalObjectStore> {
  if (settings.claimWindowMs >= settings.orphanTtlMs) {
    throw new ChatmeshError(
      'CM_ERR_CONFIG_INVALID',
      `CHATMESH_ATTACHMENT_CLAIM_WINDOW_MS (${settings.claimWindowMs}) must be below CHATMESH_ATTACHMENT_ORPHAN_TTL_MS (${settings.orphanTtlMs})`,
    );
  }
  if (storeKindOf(settings) === 'local') {
    return createLocalObjectStore({
      dir: settings.dir,
      secret: settings.urlSecret ?? randomBytes(32).toString('base64url'),
      baseUrl,
    });
  }
  if (settings.s3AccessKeyId === undefined || settings.s3SecretAccessKey === undefined) {
    throw new ChatmeshError(
      'CM_ERR_CONFIG_INVALID',
      'the s3 attachment store needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY',
    );
  }
  return createS3ObjectStore({
    endpoint: settings.s3Endpoint,
    region: settings.s3Region,
    bucket: settings.s3Bucket,
    accessKeyId: settings.s3AccessKeyId,
    secretAccessKey: settings.s3SecretAccessKey,
    createBucket: settings.s3CreateBucket === 'true',
  });
}

/** The upload policy of the settings. */
export function uploadPolicyOf(settings: AttachmentSettings): UploadPolicy {
  return {
    maxImageBytes: settings.maxImageBytes,
    maxVideoBytes: settings.maxVideoBytes,
    maxAudioBytes: settings.maxAudioBytes,
    maxFileBytes: settings.maxFileBytes,
    allowedTypes: settings.allowedTypes,
  };
}
