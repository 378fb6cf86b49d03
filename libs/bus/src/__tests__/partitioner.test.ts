import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BusError, murmur2, partitionForKey } from '../index.js';
import { kafkajsPartitionForKey, PARTITIONER_REFERENCE_KEYS } from '../testing/kafkajs-partition.js';

it('matches kafkajs DefaultPartitioner for ASCII, unicode, empty and long keys', () => {
  for (const partitionCount of [1, 2, 3, 6, 12, 64, 1000]) {
    for (const key of PARTITIONER_REFERENCE_KEYS) {
      assert.equal(
        partitionForKey(key, partitionCount),
        kafkajsPartitionForKey(key, partitionCount),
        `${JSON.stringify(key.slice(0, 24))} / ${partitionCount}`,
      );
    }
  }
});

it('matches kafkajs on many generated keys (lengths 0..64, lone surrogates included)', () => {
  for (let index = 0; index < 2_000; index++) {
    const key = String.fromCharCode(
      ...Array.from({ length: index % 65 }, (_, char) => ((index * 7919 + char * 104729) % 0xfffe) + 1),
    );
    assert.equal(partitionForKey(key, 48), kafkajsPartitionForKey(key, 48), `generated key #${index}`);
  }
});

it('uses toPositive (x & 0x7fffffff), not Math.abs, for negative hashes', () => {
  const negative = PARTITIONER_REFERENCE_KEYS.find((key) => murmur2(key) < 0);
  assert.ok(negative !== undefined, 'the reference keys include one with a negative hash');
  assert.equal(partitionForKey(negative, 1_000_003), (murmur2(negative) & 0x7fffffff) % 1_000_003);
});

it('rejects a partition count that is not a positive integer', () => {
  assert.throws(
    () => partitionForKey('k', 0),
    (error: unknown) => error instanceof BusError && error.code === 'CM_ERR_BUS_INVALID_OPTIONS',
  );
});
