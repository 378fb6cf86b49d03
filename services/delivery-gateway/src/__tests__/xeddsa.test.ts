import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { verifyXEdDsa } from '../xeddsa.js';

/**
 * Signatures made by @signalapp/libsignal-client 0.103.0 (`PrivateKey.sign`) over a Curve25519 public key (a signed
 * prekey), a Kyber-1024 public key (a Kyber prekey) and random bytes. The live check against libsignal itself is in
 * the client's E2E tests, which upload keys it made through the gateway.
 */
const vectors = JSON.parse(
  readFileSync(new URL('./fixtures/xeddsa-libsignal-vectors.json', import.meta.url), 'utf8'),
) as { publicKey: string; message: string; signature: string }[];
const bytes = (b64: string): Buffer => Buffer.from(b64, 'base64');

test('libsignal signatures verify, with either sign bit', () => {
  assert.ok(vectors.length >= 8);
  const signBits = new Set(vectors.map((v) => bytes(v.signature)[63]! & 0x80));
  assert.deepEqual([...signBits].sort(), [0, 0x80], 'the vectors cover both Edwards sign bits');
  for (const v of vectors) {
    assert.equal(verifyXEdDsa(bytes(v.publicKey), bytes(v.message), bytes(v.signature)), true, v.signature);
  }
});

test('a changed message, signature, key or key type is refused', () => {
  const [v, other] = vectors as [(typeof vectors)[0], (typeof vectors)[0]];
  const flip = (b: Buffer, i: number, mask = 0x01): Buffer => {
    const copy = Buffer.from(b);
    copy[i]! ^= mask;
    return copy;
  };
  const key = bytes(v.publicKey);
  const message = bytes(v.message);
  const signature = bytes(v.signature);
  assert.equal(verifyXEdDsa(key, flip(message, 5), signature), false);
  assert.equal(verifyXEdDsa(key, message, flip(signature, 10)), false);
  assert.equal(verifyXEdDsa(key, message, flip(signature, 63, 0x80)), false, 'the sign bit matters');
  assert.equal(verifyXEdDsa(flip(key, 7), message, signature), false);
  assert.equal(verifyXEdDsa(bytes(other.publicKey), message, signature), false, "another key's signature");
  const wrongType = Buffer.from(key);
  wrongType[0] = 0x06;
  assert.equal(verifyXEdDsa(wrongType, message, signature), false);
  assert.equal(verifyXEdDsa(key.subarray(1), message, signature), false, 'a key without its type byte');
  assert.equal(verifyXEdDsa(key, message, signature.subarray(0, 63)), false);
});

test('u = -1 (no Edwards image) and all-zero input are refused without throwing', () => {
  const minusOne = Buffer.alloc(33, 0xff);
  minusOne[0] = 0x05;
  minusOne[1] = 0xec;
  minusOne[32] = 0x7f;
  assert.equal(verifyXEdDsa(minusOne, Buffer.from('m'), Buffer.alloc(64)), false);
  const zero = Buffer.alloc(33);
  zero[0] = 0x05;
  assert.equal(verifyXEdDsa(zero, Buffer.from('m'), Buffer.alloc(64)), false);
});
