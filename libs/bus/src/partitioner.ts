/**
 * The key → partition mapping, bit for bit the same as kafkajs 2.2.4's `Partitioners.DefaultPartitioner`
 * (the Java client's murmur2 with seed 0x9747b28c, then `toPositive(hash) % partitionCount`), so the
 * memory bus places keys exactly where Kafka would and a chat keeps its partition when the mode changes.
 */
import { BusError } from './errors.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * Java-compatible murmur2 of the key's UTF-8 bytes, as a signed 32-bit integer.
 * kafkajs computes it with 64-bit Longs and keeps the low 32 bits (`toInt()`); every step used here
 * (multiply, xor, unsigned shift of the low word) only depends on the low 32 bits, so `Math.imul` is exact.
 */
export function murmur2(key: string | Buffer): number {
  // kafkajs: `Buffer.isBuffer(key) ? key : Buffer.from(String(key))`, i.e. UTF-8 (lone surrogates become U+FFFD).
  const data = Buffer.isBuffer(key) ? key : Buffer.from(String(key));
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = Math.floor(length / 4);
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) |
      ((data[i4 + 1]! & 0xff) << 8) |
      ((data[i4 + 2]! & 0xff) << 16) |
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  // The Java switch with fall-through, as ifs (noFallthroughCasesInSwitch).
  const remainder = length % 4;
  if (remainder >= 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (remainder >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (remainder >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition kafkajs's default partitioner picks for `key` among `partitionCount` partitions.
 * Note `toPositive` is `x & 0x7fffffff`, not `Math.abs`, as in the Java client.
 * @throws BusError `CM_ERR_BUS_INVALID_OPTIONS` when `partitionCount` is not a positive integer.
 */
export function partitionForKey(key: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new BusError(
      'CM_ERR_BUS_INVALID_OPTIONS',
      `partitionCount must be a positive integer (got ${partitionCount})`,
    );
  }
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}
