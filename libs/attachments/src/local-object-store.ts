import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { ChatmeshError } from '@chatmesh/errors';

import type { ObjectHead, ObjectStore, PresignedRequest, UploadedPart } from './object-store.js';

/** The route prefix the gateway serves local blobs under; the key follows it. */
export const LOCAL_BLOB_ROUTE = '/v1/blobs/';

const KEY_PATTERN = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** Options of {@link createLocalObjectStore}. */
export interface LocalObjectStoreOptions {
  /** The folder the bytes go to. */
  readonly dir: string;
  /** HMAC-SHA256 key of the URLs (at least 32 bytes); only the gateway that signs needs it. */
  readonly secret: string;
  /** The gateway's public base URL (`http://127.0.0.1:8090`), known once it listens; needed to sign only. */
  readonly baseUrl?: () => string;
}

/** What a verified blob URL allows. */
export type BlobGrant =
  | { readonly op: 'get'; readonly key: string; readonly fileName: string | null }
  | {
      readonly op: 'put';
      readonly key: string;
      readonly sizeBytes: number;
      readonly contentType: string;
      readonly sha256: string;
    }
  | { readonly op: 'part'; readonly key: string; readonly uploadId: string; readonly partNumber: number };

/** The local store as the gateway's blob route uses it: verify a URL, then move bytes. */
export interface LocalObjectStore extends ObjectStore {
  readonly kind: 'local';
  /**
   * Checks a blob URL's signature and expiry for `method`.
   * @throws ChatmeshError CM_ERR_ATTACHMENT_URL_INVALID (expired, tampered, wrong method)
   */
  verify(method: 'GET' | 'PUT', key: string, query: URLSearchParams, nowMs?: number): BlobGrant;
  /**
   * Stores the body of a verified PUT: its length and SHA-256 must be what was signed.
   * @throws ChatmeshError CM_ERR_ATTACHMENT_MISMATCH
   */
  writeBlob(grant: Extract<BlobGrant, { op: 'put' }>, body: Buffer): Promise<void>;
  /** Stores one part of a multipart upload; returns its ETag. */
  writePart(grant: Extract<BlobGrant, { op: 'part' }>, body: Buffer): Promise<string>;
  /** The object's bytes and type, or null. */
  readBlob(key: string): Promise<{ body: Buffer; contentType: string } | null>;
}

interface Meta {
  sizeBytes: number;
  sha256: string | null;
  contentType: string;
}

/**
 * Embedded mode's {@link ObjectStore}: files in a local folder behind the same interface as S3, served by the gateway
 * at {@link LOCAL_BLOB_ROUTE} with URLs signed here (HMAC-SHA256 over the operation, key, expiry and the upload's
 * declared length, type and digest), so a client moves bytes the same way in both modes.
 */
export function createLocalObjectStore(options: LocalObjectStoreOptions): LocalObjectStore {
  if (Buffer.byteLength(options.secret) < 32) {
    throw new ChatmeshError('CM_ERR_CONFIG_INVALID', 'the blob URL secret must be at least 32 bytes');
  }
  const pathOf = (key: string): string => {
    if (!KEY_PATTERN.test(key)) {
      throw new ChatmeshError('CM_ERR_ATTACHMENT_URL_INVALID', `bad object key ${JSON.stringify(key)}`);
    }
    return join(options.dir, 'objects', key);
  };
  const partsDir = (uploadId: string): string => {
    if (!/^[a-f0-9]{32}$/.test(uploadId)) throw new ChatmeshError('CM_ERR_ATTACHMENT_URL_INVALID', 'bad upload id');
    return join(options.dir, 'multipart', uploadId);
  };
  const sign = (fields: readonly string[]): string =>
    createHmac('sha256', options.secret).update(fields.join('\n')).digest('base64url');
  const signedUrl = (key: string, params: Record<string, string>, expiresInSeconds: number): PresignedRequest => {
    if (options.baseUrl === undefined) {
      throw new ChatmeshError('CM_ERR_COMMON_INTERNAL', 'this local object store was built without a base URL');
    }
    const exp = String(Date.now() + expiresInSeconds * 1000);
    const all = { ...params, exp };
    const names = Object.keys(all).sort();
    const sig = sign([key, ...names.map((name) => `${name}=${all[name as keyof typeof all]}`)]);
    const query = new URLSearchParams({ ...all, sig });
    const method = params['op'] === 'get' ? 'GET' : 'PUT';
    return {
      method,
      url: `${options.baseUrl()}${LOCAL_BLOB_ROUTE}${key}?${query.toString()}`,
      headers: params['op'] === 'put' ? { 'content-type': params['ct'] ?? '' } : {},
      expiresAtMs: Number(exp),
    };
  };
  const invalid = (message: string): ChatmeshError => new ChatmeshError('CM_ERR_ATTACHMENT_URL_INVALID', message);
  const readMeta = async (key: string): Promise<Meta | null> => {
    try {
      return JSON.parse(await readFile(`${pathOf(key)}.meta.json`, 'utf8')) as Meta;
    } catch {
      return null;
    }
  };
  /** Writes data then its metadata, each by rename, so a reader sees an object whole or not at all. */
  const publish = async (key: string, body: Buffer, meta: Meta): Promise<void> => {
    const path = pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, body);
    await rename(temporary, path);
    await writeFile(`${temporary}.meta`, JSON.stringify(meta));
    await rename(`${temporary}.meta`, `${path}.meta.json`);
  };

  return {
    kind: 'local',
    async presignPut(key, upload) {
      pathOf(key);
      return signedUrl(
        key,
        { op: 'put', len: String(upload.sizeBytes), ct: upload.contentType, sha: upload.sha256 },
        upload.expiresInSeconds,
      );
    },
    async presignGet(key, get) {
      pathOf(key);
      return signedUrl(key, { op: 'get', ...(get.fileName ? { fn: get.fileName } : {}) }, get.expiresInSeconds);
    },
    async head(key): Promise<ObjectHead | null> {
      const meta = await readMeta(key);
      if (meta === null) return null;
      return { sizeBytes: meta.sizeBytes, sha256: meta.sha256, contentType: meta.contentType };
    },
    async delete(key) {
      const path = pathOf(key);
      await rm(`${path}.meta.json`, { force: true });
      await rm(path, { force: true });
    },
    async createMultipart(key, contentType) {
      pathOf(key);
      const uploadId = randomBytes(16).toString('hex');
      await mkdir(partsDir(uploadId), { recursive: true });
      await writeFile(join(partsDir(uploadId), 'upload.json'), JSON.stringify({ key, contentType }));
      return uploadId;
    },
    async presignPart(key, uploadId, partNumber, part) {
      partsDir(uploadId);
      return signedUrl(key, { op: 'part', upload: uploadId, part: String(partNumber) }, part.expiresInSeconds);
    },
    async completeMultipart(key, uploadId, parts: readonly UploadedPart[]) {
      const dir = partsDir(uploadId);
      let upload: { key: string; contentType: string };
      try {
        upload = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8')) as typeof upload;
      } catch {
        throw new ChatmeshError('CM_ERR_ATTACHMENT_NOT_UPLOADED', 'no such multipart upload');
      }
      if (upload.key !== key) throw new ChatmeshError('CM_ERR_ATTACHMENT_NOT_UPLOADED', 'no such multipart upload');
      const chunks: Buffer[] = [];
      for (const part of [...parts].sort((a, b) => a.partNumber - b.partNumber)) {
        const body = await readFile(join(dir, String(part.partNumber))).catch(() => null);
        if (body === null || createHash('sha256').update(body).digest('hex') !== part.etag.replaceAll('"', '')) {
          throw new ChatmeshError('CM_ERR_ATTACHMENT_NOT_UPLOADED', `part ${part.partNumber} is missing or differs`);
        }
        chunks.push(body);
      }
      const body = Buffer.concat(chunks);
      // As S3: a multipart object has no whole-object SHA-256 of the store's own.
      await publish(key, body, { sizeBytes: body.length, sha256: null, contentType: upload.contentType });
      await rm(dir, { recursive: true, force: true });
    },
    async abortMultipart(_key, uploadId) {
      await rm(partsDir(uploadId), { recursive: true, force: true });
    },
    async close() {},

    verify(method, key, query, nowMs = Date.now()) {
      const sig = query.get('sig') ?? '';
      const fields: Record<string, string> = {};
      for (const [name, value] of query) if (name !== 'sig') fields[name] = value;
      const names = Object.keys(fields).sort();
      const expected = Buffer.from(sign([key, ...names.map((name) => `${name}=${fields[name]}`)]));
      const given = Buffer.from(sig);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw invalid('the URL signature does not match');
      }
      if (!(Number(fields['exp']) > nowMs)) throw invalid('the URL has expired');
      pathOf(key);
      const op = fields['op'];
      if (op === 'get' && method === 'GET') return { op, key, fileName: fields['fn'] ?? null };
      if (op === 'put' && method === 'PUT') {
        return {
          op,
          key,
          sizeBytes: Number(fields['len']),
          contentType: fields['ct'] ?? '',
          sha256: fields['sha'] ?? '',
        };
      }
      if (op === 'part' && method === 'PUT') {
        return { op, key, uploadId: fields['upload'] ?? '', partNumber: Number(fields['part']) };
      }
      throw invalid(`the URL does not allow ${method}`);
    },
    async writeBlob(grant, body) {
      const sha256 = createHash('sha256').update(body).digest('base64');
      if (body.length !== grant.sizeBytes || sha256 !== grant.sha256) {
        throw new ChatmeshError('CM_ERR_ATTACHMENT_MISMATCH', 'the body does not match the signed size and SHA-256', {
          context: { sizeBytes: body.length, expectedSizeBytes: grant.sizeBytes },
        });
      }
      await publish(grant.key, body, { sizeBytes: body.length, sha256, contentType: grant.contentType });
    },
    async writePart(grant, body) {
      const dir = partsDir(grant.uploadId);
      if ((await stat(dir).catch(() => null)) === null) {
        throw new ChatmeshError('CM_ERR_ATTACHMENT_NOT_UPLOADED', 'no such multipart upload');
      }
      await writeFile(join(dir, String(grant.partNumber)), body);
      return `"${createHash('sha256').update(body).digest('hex')}"`;
    },
    async readBlob(key) {
      const meta = await readMeta(key);
      if (meta === null) return null;
      const body = await readFile(pathOf(key)).catch(() => null);
      return body === null ? null : { body, contentType: meta.contentType };
    },
  };
}

/** How many objects the folder holds (tests check that a refusal stored nothing and the sweeper removed files). */
export async function localObjectCount(dir: string): Promise<number> {
  const walk = async (path: string): Promise<number> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    let count = 0;
    for (const entry of entries) {
      if (entry.isDirectory()) count += await walk(join(path, entry.name));
      else if (!entry.name.endsWith('.meta.json')) count += 1;
    }
    return count;
  };
  return walk(join(dir, 'objects'));
}
