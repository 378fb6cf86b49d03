import { randomBytes } from 'node:crypto';

import type { RateLimiter } from '@chatmesh/rate-limit';
import type { AttachmentRecord, AttachmentStore, ChatDirectoryStore } from '@chatmesh/store';

import { AttachmentError } from './attachment-error.js';
import type { ObjectStore, PresignedRequest, UploadedPart } from './object-store.js';
import { checkUpload, normalizeContentType, type UploadPolicy } from './upload-policy.js';

/** S3's bounds on multipart uploads: parts of at least 5 MiB (but the last), at most 10,000 of them. */
export const MULTIPART_MIN_PART_BYTES = 5 * 1024 * 1024;
export const MULTIPART_MAX_PARTS = 10_000;
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;
const FILE_NAME = /^[^\u0000-\u001f/\\]{1,255}$/;

/** What a client declares when it asks to upload. */
export interface UploadRequest {
  readonly sizeBytes: number;
  readonly contentType: string;
  /** Base64 SHA-256 of the bytes as they will be uploaded (ciphertext for end-to-end-encrypted clients). */
  readonly sha256: string;
  readonly fileName?: string | null;
}

/** The answer to an upload request. */
export interface UploadGrant {
  readonly attachmentId: string;
  readonly upload: PresignedRequest;
}

/** The answer to a multipart upload request: part URLs are asked for with {@link AttachmentService.presignParts}. */
export interface MultipartGrant {
  readonly attachmentId: string;
  readonly partSizeBytes: number;
  readonly partCount: number;
}

/** What the attachment service needs. */
export interface AttachmentServiceDeps {
  readonly objects: ObjectStore;
  readonly metadata: AttachmentStore;
  /** Membership, for downloads. */
  readonly directory: Pick<ChatDirectoryStore, 'chatsOfUser'>;
  /** One bucket per user for upload requests (libs/rate-limit). */
  readonly limiter: RateLimiter;
  readonly policy: UploadPolicy;
  readonly urlTtlSeconds: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * The gateway's side of attachments: checks an upload request against the policy and the user's rate, reserves a
 * server-chosen id (128 random bits) and signs a PUT (or a multipart upload) for the object key it chose; signs GETs
 * for the uploader and for members of the chats whose messages refer to the attachment. Never moves bytes.
 */
export class AttachmentService {
  private readonly clock: () => number;

  constructor(private readonly deps: AttachmentServiceDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /**
   * Reserves an attachment and signs a single PUT for it.
   * @throws AttachmentError TOO_LARGE, TYPE_NOT_ALLOWED, INVALID_REQUEST, RATE_LIMITED
   */
  async requestUpload(userId: string, request: UploadRequest): Promise<UploadGrant> {
    const record = await this.reserve(userId, request, null);
    const upload = await this.deps.objects.presignPut(record.objectKey, {
      sizeBytes: record.sizeBytes,
      contentType: record.contentType,
      sha256: record.sha256,
      expiresInSeconds: this.deps.urlTtlSeconds,
    });
    return { attachmentId: record.attachmentId, upload };
  }

  /**
   * Reserves an attachment uploaded in parts of `partSizeBytes` (the last may be shorter).
   * @throws AttachmentError as {@link requestUpload}
   */
  async requestMultipartUpload(
    userId: string,
    request: UploadRequest & { readonly partSizeBytes: number },
  ): Promise<MultipartGrant> {
    const partCount = Math.ceil(request.sizeBytes / request.partSizeBytes);
    if (
      !Number.isSafeInteger(request.partSizeBytes) ||
      request.partSizeBytes < MULTIPART_MIN_PART_BYTES ||
      partCount > MULTIPART_MAX_PARTS
    ) {
      throw new AttachmentError(
        'CM_ERR_ATTACHMENT_INVALID_REQUEST',
        `partSizeBytes must be at least ${MULTIPART_MIN_PART_BYTES} and give at most ${MULTIPART_MAX_PARTS} parts`,
      );
    }
    this.validate(request);
    const key = objectKeyOf(newAttachmentId());
    const uploadId = await this.deps.objects.createMultipart(key, normalizeContentType(request.contentType));
    const record = await this.reserve(userId, request, uploadId, key);
    return { attachmentId: record.attachmentId, partSizeBytes: request.partSizeBytes, partCount };
  }

  /**
   * Signs PUTs of the given parts of the caller's multipart upload.
   * @throws AttachmentError NOT_FOUND (not the caller's, or not multipart), INVALID_REQUEST (bad part numbers)
   */
  async presignParts(
    userId: string,
    attachmentId: string,
    partNumbers: readonly number[],
  ): Promise<PresignedRequest[]> {
    const record = await this.ownMultipart(userId, attachmentId);
    const partCount = this.partCountOf(record);
    if (partNumbers.length === 0 || partNumbers.some((n) => !Number.isInteger(n) || n < 1 || n > partCount)) {
      throw new AttachmentError('CM_ERR_ATTACHMENT_INVALID_REQUEST', `part numbers are 1-${partCount}`);
    }
    return Promise.all(
      partNumbers.map((partNumber) =>
        this.deps.objects.presignPart(record.objectKey, record.multipartUploadId!, partNumber, {
          expiresInSeconds: this.deps.urlTtlSeconds,
        }),
      ),
    );
  }

  /**
   * Assembles the parts; the object then exists with the declared size (checked again when a message refers to it).
   * @throws AttachmentError NOT_FOUND, NOT_UPLOADED (parts missing), MISMATCH (size differs)
   */
  async completeMultipartUpload(userId: string, attachmentId: string, parts: readonly UploadedPart[]): Promise<void> {
    const record = await this.ownMultipart(userId, attachmentId);
    await this.deps.objects.completeMultipart(record.objectKey, record.multipartUploadId!, parts);
    const head = await this.deps.objects.head(record.objectKey);
    if (head === null || head.sizeBytes !== record.sizeBytes) {
      await this.deps.objects.delete(record.objectKey);
      throw new AttachmentError(
        'CM_ERR_ATTACHMENT_MISMATCH',
        `the assembled object has ${head?.sizeBytes ?? 0} bytes, ${record.sizeBytes} were declared`,
      );
    }
  }

  /**
   * Signs a GET for the uploader, or for a member of a chat where a message (or the group picture) refers to it.
   * @throws AttachmentError NOT_FOUND (also when the caller may not see it: the same answer on purpose)
   */
  async downloadUrl(userId: string, attachmentId: string): Promise<PresignedRequest> {
    const record = await this.deps.metadata.get(attachmentId);
    if (record === null) throw notFound();
    if (record.ownerUserId !== userId) {
      const [refs, chats] = await Promise.all([
        this.deps.metadata.refs(attachmentId),
        this.deps.directory.chatsOfUser(userId),
      ]);
      const mine = new Set(chats.map((chat) => chat.chatId));
      if (!refs.some((ref) => mine.has(ref.chatId))) throw notFound();
    }
    return this.deps.objects.presignGet(record.objectKey, {
      expiresInSeconds: this.deps.urlTtlSeconds,
      fileName: record.fileName,
    });
  }

  private validate(request: UploadRequest): void {
    if (typeof request.sha256 !== 'string' || !SHA256_BASE64.test(request.sha256)) {
      throw new AttachmentError('CM_ERR_ATTACHMENT_INVALID_REQUEST', 'sha256 must be the base64 of a SHA-256 digest');
    }
    if (request.fileName != null && !FILE_NAME.test(request.fileName)) {
      throw new AttachmentError(
        'CM_ERR_ATTACHMENT_INVALID_REQUEST',
        'fileName must be 1-255 characters without control characters or slashes',
      );
    }
    checkUpload(this.deps.policy, request.sizeBytes, request.contentType);
  }

  private async reserve(
    userId: string,
    request: UploadRequest,
    multipartUploadId: string | null,
    objectKey?: string,
  ): Promise<AttachmentRecord> {
    this.validate(request);
    // Refused before anything is signed or stored.
    const taken = await this.deps.limiter.take(userId, 1, this.clock());
    if (!taken.allowed) {
      if (multipartUploadId !== null && objectKey !== undefined) {
        await this.deps.objects.abortMultipart(objectKey, multipartUploadId).catch(() => {});
      }
      throw new AttachmentError('CM_ERR_ATTACHMENT_RATE_LIMITED', 'too many upload requests; retry later', {
        context: { retryAfterMs: taken.retryAfterMs },
      });
    }
    const key = objectKey ?? objectKeyOf(newAttachmentId());
    const record: AttachmentRecord = {
      attachmentId: attachmentIdOf(key),
      ownerUserId: userId,
      objectKey: key,
      sizeBytes: request.sizeBytes,
      contentType: normalizeContentType(request.contentType),
      sha256: request.sha256,
      fileName: request.fileName ?? null,
      multipartUploadId,
      createdAtMs: this.clock(),
    };
    await this.deps.metadata.create(record);
    return record;
  }

  private async ownMultipart(userId: string, attachmentId: string): Promise<AttachmentRecord> {
    const record = await this.deps.metadata.get(attachmentId);
    if (record === null || record.ownerUserId !== userId || record.multipartUploadId === null) throw notFound();
    return record;
  }

  private partCountOf(record: AttachmentRecord): number {
    return Math.min(MULTIPART_MAX_PARTS, Math.max(1, Math.ceil(record.sizeBytes / MULTIPART_MIN_PART_BYTES)));
  }
}

function notFound(): AttachmentError {
  return new AttachmentError('CM_ERR_ATTACHMENT_NOT_FOUND', 'no such attachment');
}

/** A new attachment id: 128 random bits, base64url (22 characters, a valid protocol id). */
export function newAttachmentId(): string {
  return randomBytes(16).toString('base64url');
}

/** Where an attachment's bytes live in the object store. */
export function objectKeyOf(attachmentId: string): string {
  return `att/${attachmentId}`;
}

function attachmentIdOf(objectKey: string): string {
  return objectKey.slice('att/'.length);
}
