import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ChatmeshError } from '@chatmesh/errors';

import type { ObjectHead, ObjectStore, PresignedRequest } from './object-store.js';

/** How to reach an S3-compatible store. */
export interface S3ObjectStoreOptions {
  /** e.g. `http://127.0.0.1:17070`; undefined for AWS itself. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Path-style URLs (`endpoint/bucket/key`): what versitygw, MinIO and most self-hosted stores need. @default true */
  readonly forcePathStyle?: boolean;
  /** Create the bucket when it is missing (tests, the local stack). @default false */
  readonly createBucket?: boolean;
}

/**
 * {@link ObjectStore} over any S3-compatible server with the AWS SDK v3: presigned PUTs carry `x-amz-checksum-sha256`
 * as a signed header, so the store itself refuses bytes that do not match the declared digest and keeps the digest
 * for HEAD (ChecksumMode ENABLED).
 * @throws ChatmeshError CM_ERR_ATTACHMENT_STORE_UNAVAILABLE when the bucket cannot be reached or created
 */
export async function createS3ObjectStore(options: S3ObjectStoreOptions): Promise<ObjectStore> {
  const client = new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: options.forcePathStyle ?? true,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
    // The SDK would otherwise add CRC32 checksums of its own to presigned requests, which a browser cannot compute.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = options.bucket;
  const unavailable = (error: unknown, what: string): ChatmeshError =>
    new ChatmeshError('CM_ERR_ATTACHMENT_STORE_UNAVAILABLE', `${what} failed on bucket ${Bucket}`, {
      cause: error,
      context: { bucket: Bucket, endpoint: options.endpoint },
    });
  try {
    await client.send(new HeadBucketCommand({ Bucket }));
  } catch (error) {
    if (!options.createBucket) throw unavailable(error, 'HeadBucket');
    try {
      await client.send(new CreateBucketCommand({ Bucket }));
    } catch (createError) {
      const name = (createError as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
        throw unavailable(createError, 'CreateBucket');
      }
    }
  }
  const expiry = (seconds: number): number => Date.now() + seconds * 1000;
  return {
    kind: 's3',
    async presignPut(Key, upload): Promise<PresignedRequest> {
      const command = new PutObjectCommand({
        Bucket,
        Key,
        ContentLength: upload.sizeBytes,
        ContentType: upload.contentType,
        ChecksumSHA256: upload.sha256,
      });
      const url = await getSignedUrl(client, command, {
        expiresIn: upload.expiresInSeconds,
        // Signed as headers (not hoisted into the query): the client must send exactly these, and the store checks
        // the body against the digest.
        signableHeaders: new Set(['content-type', 'content-length']),
        unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
      });
      return {
        method: 'PUT',
        url,
        headers: {
          'content-type': upload.contentType,
          'x-amz-checksum-sha256': upload.sha256,
        },
        expiresAtMs: expiry(upload.expiresInSeconds),
      };
    },
    async presignGet(Key, get): Promise<PresignedRequest> {
      const command = new GetObjectCommand({
        Bucket,
        Key,
        ...(get.fileName
          ? { ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(get.fileName)}` }
          : {}),
      });
      const url = await getSignedUrl(client, command, { expiresIn: get.expiresInSeconds });
      return { method: 'GET', url, headers: {}, expiresAtMs: expiry(get.expiresInSeconds) };
    },
    async head(Key): Promise<ObjectHead | null> {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
        // A multipart object's checksum is a checksum of part checksums (`...-N`): not the object's SHA-256.
        const sha256 = head.ChecksumSHA256 && !head.ChecksumSHA256.includes('-') ? head.ChecksumSHA256 : null;
        return { sizeBytes: Number(head.ContentLength ?? 0), sha256, contentType: head.ContentType ?? null };
      } catch (error) {
        const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
        if (status === 404) return null;
        throw unavailable(error, 'HeadObject');
      }
    },
    async delete(Key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key }));
      } catch (error) {
        throw unavailable(error, 'DeleteObject');
      }
    },
    async createMultipart(Key, ContentType) {
      try {
        const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType }));
        if (!created.UploadId) throw new Error('no UploadId in the answer');
        return created.UploadId;
      } catch (error) {
        throw unavailable(error, 'CreateMultipartUpload');
      }
    },
    async presignPart(Key, UploadId, PartNumber, part) {
      const url = await getSignedUrl(client, new UploadPartCommand({ Bucket, Key, UploadId, PartNumber }), {
        expiresIn: part.expiresInSeconds,
      });
      return { method: 'PUT', url, headers: {}, expiresAtMs: expiry(part.expiresInSeconds) };
    },
    async completeMultipart(Key, UploadId, parts) {
      try {
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket,
            Key,
            UploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          }),
        );
      } catch (error) {
        const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
        if (status !== undefined && status >= 400 && status < 500) {
          throw new ChatmeshError('CM_ERR_ATTACHMENT_NOT_UPLOADED', 'the parts do not make a complete upload', {
            cause: error,
            context: { status },
          });
        }
        throw unavailable(error, 'CompleteMultipartUpload');
      }
    },
    async abortMultipart(Key, UploadId) {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
      } catch (error) {
        const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
        if (status !== 404) throw unavailable(error, 'AbortMultipartUpload');
      }
    },
    async close() {
      client.destroy();
    },
  };
}
