import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

/**
 * Signal-shaped keys for tests without libsignal: an Ed25519 key whose Montgomery form is the Signal identity key,
 * signing as XEdDSA does (a standard Ed25519 signature with the Edwards sign bit in the last byte). The client's E2E
 * tests use real libsignal keys.
 */
export class TestIdentity {
  private readonly secretKey: Uint8Array;
  private readonly edwards: Uint8Array;
  readonly publicKey: Buffer;

  constructor() {
    const { secretKey, publicKey } = ed25519.keygen();
    this.secretKey = secretKey;
    this.edwards = publicKey;
    this.publicKey = Buffer.concat([Buffer.from([0x05]), ed25519.utils.toMontgomery(publicKey)]);
  }

  sign(message: Uint8Array): Buffer {
    const signature = Buffer.from(ed25519.sign(message, this.secretKey));
    signature[63]! |= this.edwards[31]! & 0x80;
    return signature;
  }
}

/** A random serialized Curve25519 public key (the server only checks its shape). */
export const curveKey = (): Buffer => Buffer.concat([Buffer.from([0x05]), randomBytes(32)]);
/** A random serialized Kyber-1024 public key. */
export const kyberKey = (): Buffer => Buffer.concat([Buffer.from([0x08]), randomBytes(1568)]);

const b64 = (b: Buffer): string => b.toString('base64');

/** A full `PUT /v1/keys` body signed by `identity`, with one-time prekeys `from`..`from + count - 1`. */
export function keysUpload(
  identity: TestIdentity,
  options: { from?: number; count?: number; kyberCount?: number } = {},
): Record<string, unknown> {
  const from = options.from ?? 1;
  const signedKey = (publicKey: Buffer, keyId: number) => ({
    keyId,
    publicKey: b64(publicKey),
    signature: b64(identity.sign(publicKey)),
  });
  return {
    identityKey: b64(identity.publicKey),
    registrationId: 1234,
    signedPreKey: signedKey(curveKey(), 1),
    kyberLastResortPreKey: signedKey(kyberKey(), 1_000_000),
    preKeys: Array.from({ length: options.count ?? 5 }, (_, i) => ({ keyId: from + i, publicKey: b64(curveKey()) })),
    kyberPreKeys: Array.from({ length: options.kyberCount ?? 2 }, (_, i) => signedKey(kyberKey(), from + i)),
  };
}
