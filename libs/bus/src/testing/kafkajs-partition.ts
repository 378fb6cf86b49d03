/** kafkajs's own default partitioner, called the way its producer calls it, as the reference for tests. */
import kafkajs from 'kafkajs';

const { Partitioners } = kafkajs;

/** The partition kafkajs 2.2.4's `DefaultPartitioner` picks for `key` among `partitionCount` partitions. */
export function kafkajsPartitionForKey(key: string, partitionCount: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return partitioner({ topic: 'reference', partitionMetadata, message: { key, value: null } });
}

/** Keys the partitioner tests use: ASCII, unicode (BMP, astral, combining), empty, long, numeric-looking. */
export const PARTITIONER_REFERENCE_KEYS: readonly string[] = [
  '',
  'a',
  'ab',
  'abc',
  'abcd',
  'abcde',
  'chat-1',
  'chat-2',
  'user:42',
  '0',
  '12345678901234567890',
  '00000000-0000-4000-8000-000000000000',
  '7f3c2a9e-5b1d-4c8e-9f0a-1b2c3d4e5f60',
  'héllo wörld',
  'привет',
  '你好，世界',
  'emoji 😀🎉 keys',
  'e\u0301',
  ' leading and trailing ',
  'x'.repeat(1_000),
  'long-' + 'ünïcødé-'.repeat(500),
];
