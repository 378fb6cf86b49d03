/**
 * @chatmesh/attachments: attachments by reference. Clients upload straight to an object store with presigned URLs
 * the gateway signs after checking size, type and rate ({@link AttachmentService}); ingest checks every reference a
 * message carries ({@link checkAttachmentReference}); a sweeper removes uploads nobody sent ({@link sweepOrphans}).
 * The store is any S3-compatible server through the AWS SDK v3 ({@link createS3ObjectStore}) or, in embedded mode,
 * a local folder with HMAC-signed URLs served by the gateway ({@link createLocalObjectStore}).
 */
export { ATTACHMENT_CONFIG } from './attachment-config.js';
export {
  AttachmentError,
  ATTACHMENT_HTTP_STATUS,
  attachmentCodeOf,
  type AttachmentErrorCode,
} from './attachment-error.js';
export {
  AttachmentService,
  MULTIPART_MAX_PARTS,
  MULTIPART_MIN_PART_BYTES,
  newAttachmentId,
  objectKeyOf,
  type AttachmentServiceDeps,
  type MultipartGrant,
  type UploadGrant,
  type UploadRequest,
} from './attachment-service.js';
export type { ObjectHead, ObjectStore, PresignedRequest, UploadedPart } from './object-store.js';
export { createS3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.js';
export {
  createLocalObjectStore,
  localObjectCount,
  LOCAL_BLOB_ROUTE,
  type BlobGrant,
  type LocalObjectStore,
  type LocalObjectStoreOptions,
} from './local-object-store.js';
export { openObjectStore, storeKindOf, uploadPolicyOf, type AttachmentSettings } from './object-store-from-config.js';
export { checkUpload, kindOf, maxBytesOf, normalizeContentType, type UploadPolicy } from './upload-policy.js';
export { checkAttachmentReference, type DeclaredAttachment, type ReferenceCheckDeps } from './reference-check.js';
export { sweepOrphans, startOrphanSweeper, SWEEP_LOOKBACK_MS, type OrphanSweepDeps } from './orphan-sweeper.js';
