import { randomUUID } from 'node:crypto';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Bus, BusRecord } from '@chatmesh/bus';
import { createCassandraClient } from '@chatmesh/store';
import { waitFor } from '@chatmesh/testing';

import type { Finding, Needle } from './e2e-suite.js';

function search(haystack: Buffer, where: string, needles: readonly Needle[], out: Finding[]): void {
  for (const needle of needles) {
    if (haystack.includes(needle.bytes)) out.push({ needle: needle.name, where });
  }
}

/**
 * Reads every record of every topic of the bus's namespace from the beginning (one consumer group, done when its
 * committed offsets reach each partition's high watermark: transaction markers take offsets but are never handed
 * out, so counting records would never finish) and looks for the needles in keys, values and headers.
 */
export async function scanKafka(bus: Bus, needles: readonly Needle[]): Promise<Finding[]> {
  const topics = await bus.admin.listTopics();
  const groupId = `e2e-scan-${randomUUID()}`;
  const found: Finding[] = [];
  const seen = (record: BusRecord): void => {
    const where = `kafka ${record.topic}/${record.partition}@${record.offset}`;
    const parts = [
      record.value ?? Buffer.alloc(0),
      Buffer.from(record.key ?? ''),
      Buffer.from(JSON.stringify(record.headers)),
    ];
    for (const part of parts) search(part, where, needles, found);
  };
  const subscription = await bus.subscribe({
    groupId,
    topics,
    fromBeginning: true,
    handler: async (record) => seen(record),
    deadLetter: { encode: async () => Buffer.alloc(0) },
  });
  try {
    await waitFor(
      async () => {
        for (const topic of topics) {
          const [highs, committed] = await Promise.all([
            bus.admin.fetchTopicOffsets(topic),
            bus.admin.fetchCommittedOffsets(groupId, topic),
          ]);
          for (const { partition, high, low } of highs) {
            if (high === low) continue;
            const offset = committed.find((c) => c.partition === partition)?.offset ?? '-1';
            if (BigInt(offset) < BigInt(high)) return false;
          }
        }
        return true;
      },
      { description: `every record of ${topics.length} topics read`, timeoutMs: 120_000, intervalMs: 500 },
    );
  } finally {
    await subscription.stop();
  }
  return found;
}

/** Reads every row of every table of the keyspace and looks for the needles in every column. */
export async function scanCassandra(
  options: { contactPoints: readonly string[]; localDataCenter: string; keyspace: string },
  needles: readonly Needle[],
): Promise<Finding[]> {
  const client = createCassandraClient({
    contactPoints: options.contactPoints,
    localDataCenter: options.localDataCenter,
  });
  const found: Finding[] = [];
  try {
    const tables = (
      await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [options.keyspace])
    ).rows.map((row) => row['table_name'] as string);
    for (const table of tables) {
      let pageState: string | undefined;
      do {
        const result = await client.execute(`SELECT * FROM ${options.keyspace}.${table}`, [], {
          fetchSize: 1000,
          ...(pageState === undefined ? {} : { pageState }),
        });
        for (const row of result.rows) {
          for (const column of result.columns) {
            const value: unknown = row[column.name];
            if (value === null || value === undefined) continue;
            const bytes = Buffer.isBuffer(value)
              ? value
              : Buffer.from(
                  typeof value === 'string'
                    ? value
                    : JSON.stringify(value, (_k, v: unknown) =>
                        Buffer.isBuffer(v) ? v.toString('latin1') : typeof v === 'bigint' ? String(v) : v,
                      ),
                );
            search(bytes, `cassandra ${table}.${column.name}`, needles, found);
          }
        }
        pageState = result.pageState ?? undefined;
      } while (pageState !== undefined);
    }
  } finally {
    await client.shutdown();
  }
  return found;
}

/** Downloads every object of the bucket and looks for the needles. */
export async function scanObjectStore(
  options: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string },
  needles: readonly Needle[],
): Promise<Finding[]> {
  const s3 = new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
  });
  const found: Finding[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: options.bucket,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const object of page.Contents ?? []) {
        const body = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: object.Key! }));
        const bytes = Buffer.from(await body.Body!.transformToByteArray());
        search(bytes, `object store ${object.Key!}`, needles, found);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } finally {
    s3.destroy();
  }
  return found;
}
