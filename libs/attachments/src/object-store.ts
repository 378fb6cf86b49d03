/** A request the client makes straight to the object store (or, in embedded mode, to the gateway's blob route). */
export interface PresignedRequest {
  readonly method: 'PUT' | 'GET';
  readonly url: string;
  /** Headers the client must send as they are (they are part of the signature). */
  readonly headers: Readonly<Record<string, string>>;
  readonly expiresAtMs: number;
}

/** What the store says about a stored object. */
export interface ObjectHead {
  readonly sizeBytes: number;
  /** Base64 SHA-256 the store verified on upload; null when it has none (a multipart object). */
  readonly sha256: string | null;
  readonly contentType: string | null;
}

/** One uploaded part of a multipart upload. */
export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/**
 * Where attachment bytes live: an S3-compatible bucket ({@link createS3ObjectStore}) or a local folder served by the
 * gateway with signed URLs of its own ({@link createLocalObjectStore}). The server only signs, inspects and deletes;
 * clients move the bytes.
 */
export interface ObjectStore {
  readonly kind: 's3' | 'local';
  /** A PUT that only succeeds with exactly this length, type and SHA-256 (the store checks the digest). */
  presignPut(
    key: string,
    upload: { sizeBytes: number; contentType: string; sha256: string; expiresInSeconds: number },
  ): Promise<PresignedRequest>;
  /** A GET of the object; `fileName` becomes the download's Content-Disposition. */
  presignGet(key: string, options: { expiresInSeconds: number; fileName?: string | null }): Promise<PresignedRequest>;
  /** The object's size, verified checksum and type, or null when there is no object under `key`. */
  head(key: string): Promise<ObjectHead | null>;
  /** Deletes the object (a missing one is fine). */
  delete(key: string): Promise<void>;
  /** Starts a multipart upload and returns its upload id. */
  createMultipart(key: string, contentType: string): Promise<string>;
  /** A PUT of one part (1-10000). */
  presignPart(
    key: string,
    uploadId: string,
    partNumber: number,
    options: { expiresInSeconds: number },
  ): Promise<PresignedRequest>;
  /** Assembles the parts into the object. */
  completeMultipart(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<void>;
  /** Drops an unfinished multipart upload and its parts (a finished or unknown one is fine). */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  close(): Promise<void>;
}
