import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { ClientError } from '../errors.js';

/** 32 bytes of AES-256 key then 32 bytes of HMAC-SHA256 key, as Signal's attachment keys. */
export const ATTACHMENT_KEY_BYTES = 64;
const IV_BYTES = 16;
const MAC_BYTES = 32;

/** An encrypted attachment: upload `ciphertext`; `key` and `digest` travel inside the encrypted message only. */
export interface EncryptedAttachment {
  readonly ciphertext: Buffer;
  /** Random per attachment: never reused, never sent to the server in the clear. */
  readonly key: Buffer;
  /** SHA-256 of `ciphertext`: the receiver checks the downloaded blob against it before decrypting. */
  readonly digest: Buffer;
}

/**
 * Encrypts an attachment as Signal does: AES-256-CBC with a random IV, then HMAC-SHA256 over IV and ciphertext
 * (encrypt-then-MAC); the blob is `iv || ciphertext || mac`.
 */
export function encryptAttachment(plaintext: Uint8Array): EncryptedAttachment {
  const key = randomBytes(ATTACHMENT_KEY_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-cbc', key.subarray(0, 32), iv);
  const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.subarray(32)).update(body).digest();
  const ciphertext = Buffer.concat([body, mac]);
  return { ciphertext, key, digest: createHash('sha256').update(ciphertext).digest() };
}

/**
 * Checks the digest and the MAC, then decrypts.
 * @throws ClientError CM_ERR_CLIENT_E2E_DECRYPT_FAILED when the blob was changed or the key is wrong
 */
export function decryptAttachment(blob: Uint8Array, key: Uint8Array, digest: Uint8Array): Buffer {
  const fail = (why: string): ClientError => new ClientError('CM_ERR_CLIENT_E2E_DECRYPT_FAILED', `attachment: ${why}`);
  const data = Buffer.from(blob);
  if (key.length !== ATTACHMENT_KEY_BYTES) throw fail('the key is not 64 bytes');
  const actualDigest = createHash('sha256').update(data).digest();
  if (digest.length !== actualDigest.length || !timingSafeEqual(actualDigest, digest)) {
    throw fail('the blob does not match its digest');
  }
  if (data.length < IV_BYTES + 16 + MAC_BYTES) throw fail('the blob is too short');
  const body = data.subarray(0, data.length - MAC_BYTES);
  const mac = createHmac('sha256', Buffer.from(key.subarray(32)))
    .update(body)
    .digest();
  if (!timingSafeEqual(mac, data.subarray(data.length - MAC_BYTES))) throw fail('the MAC does not verify');
  const decipher = createDecipheriv('aes-256-cbc', Buffer.from(key.subarray(0, 32)), body.subarray(0, IV_BYTES));
  return Buffer.concat([decipher.update(body.subarray(IV_BYTES)), decipher.final()]);
}
