import { ed25519 } from '@noble/curves/ed25519.js';

/** Signal's type byte of a serialized Curve25519 public key. */
export const DJB_KEY_TYPE = 0x05;
/** A serialized Signal public key: the type byte and the 32-byte Montgomery u. */
export const SIGNAL_PUBLIC_KEY_BYTES = 33;
const SIGNATURE_BYTES = 64;
const P = 2n ** 255n - 19n;

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % P;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

function littleEndianToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/**
 * Verifies an XEdDSA signature the way libsignal does (`curve25519.rs`, `verify_signature`), without libsignal
 * (AGPL-3.0) on the server: the Montgomery u of the Signal key becomes the Edwards y = (u - 1) / (u + 1), its sign
 * bit comes from the signature's last byte (which the signer put there and which is not part of s), and the rest is
 * a standard Ed25519 verification.
 * @param publicKey a serialized Signal public key (33 bytes, 0x05 first)
 * @returns false for anything malformed or forged, never throws
 */
export function verifyXEdDsa(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== SIGNAL_PUBLIC_KEY_BYTES || publicKey[0] !== DJB_KEY_TYPE) return false;
  if (signature.length !== SIGNATURE_BYTES) return false;
  // curve25519-dalek reads u modulo p with the top bit ignored, as X25519 does.
  const uBytes = Uint8Array.from(publicKey.subarray(1));
  uBytes[31]! &= 0x7f;
  const u = littleEndianToBigint(uBytes) % P;
  if (u === P - 1n) return false; // u = -1 has no Edwards image
  const y = (((u - 1n + P) % P) * modPow(u + 1n, P - 2n)) % P;
  const edwards = new Uint8Array(32);
  let rest = y;
  for (let i = 0; i < 32; i++) {
    edwards[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  const signBit = signature[63]! & 0x80;
  edwards[31]! |= signBit;
  const ed25519Signature = Uint8Array.from(signature);
  ed25519Signature[63]! &= 0x7f;
  try {
    return ed25519.verify(ed25519Signature, message, edwards, { zip215: false });
  } catch {
    return false;
  }
}
