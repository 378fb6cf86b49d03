import { SchemaDecodeError } from './errors.js';

/** Confluent's wire format: magic byte 0, then the schema id as a 4-byte big-endian integer, then the Avro body. */
export const MAGIC_BYTE = 0;
/** Bytes before the Avro body. */
export const HEADER_BYTES = 5;

/** Prefixes an Avro body with the Confluent header. */
export function frameValue(schemaId: number, body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt8(MAGIC_BYTE, 0);
  frame.writeInt32BE(schemaId, 1);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/**
 * Splits a Confluent frame into schema id and body (the body shares memory with `bytes`).
 * @throws SchemaDecodeError (CM_ERR_SCHEMA_DECODE) `short-buffer` or `bad-magic-byte`.
 */
export function parseFrame(bytes: Buffer): { schemaId: number; body: Buffer } {
  if (bytes.length < HEADER_BYTES) {
    throw new SchemaDecodeError(
      'short-buffer',
      `a Confluent frame has at least ${HEADER_BYTES} bytes, got ${bytes.length}`,
    );
  }
  const magic = bytes.readUInt8(0);
  if (magic !== MAGIC_BYTE) {
    throw new SchemaDecodeError('bad-magic-byte', `expected magic byte ${MAGIC_BYTE}, got ${magic}`);
  }
  return { schemaId: bytes.readInt32BE(1), body: bytes.subarray(HEADER_BYTES) };
}
