/**
 * The servers' work per message in stack mode, counted rather than timed: Cassandra's own per-table
 * counters (`system_views.local_{write,read,scan}_latency`: mutations applied, partition reads and range
 * scans since the table was created) for the run's keyspace, and the offsets appended to each of the run's
 * Kafka topics (records plus transaction markers: a committed transaction leaves one marker per partition
 * it wrote). Read before and after the offered load, the difference divided by the messages is what one
 * message costs the servers. Unlike latency and CPU shares, these counts do not depend on what else the
 * machine is doing, so they compare runs made on a busy box.
 */
import type { Client as CassandraClient } from 'cassandra-driver';
import type { Admin } from 'kafkajs';

export interface WorkCounts {
  /** Per table of the run's keyspace. */
  readonly cassandra: Readonly<Record<string, { writes: number; reads: number; scans: number }>>;
  /** Offsets appended per topic (the namespace prefix removed). */
  readonly kafka: Readonly<Record<string, number>>;
}

const CASSANDRA_VIEWS = [
  ['writes', 'local_write_latency'],
  ['reads', 'local_read_latency'],
  ['scans', 'local_scan_latency'],
] as const;

export async function readWorkCounts(
  cql: CassandraClient,
  admin: Admin,
  keyspace: string,
  namespace: string,
): Promise<WorkCounts> {
  const cassandra: Record<string, { writes: number; reads: number; scans: number }> = {};
  for (const [kind, view] of CASSANDRA_VIEWS) {
    const result = await cql.execute(
      `SELECT table_name, count FROM system_views.${view} WHERE keyspace_name = ?`,
      [keyspace],
      { prepare: true },
    );
    for (const row of result.rows) {
      const table = String(row['table_name']);
      const entry = (cassandra[table] ??= { writes: 0, reads: 0, scans: 0 });
      entry[kind] = Number(row['count']);
    }
  }
  const kafka: Record<string, number> = {};
  const prefix = `${namespace}.`;
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    kafka[topic.slice(prefix.length)] = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  }
  return { cassandra, kafka };
}

/** `after − before` per message, rounded to 0.01, leaving out what did not change. */
export function workPerMessage(
  before: WorkCounts,
  after: WorkCounts,
  messages: number,
): { cassandra: Record<string, { writes: number; reads: number; scans: number }>; kafka: Record<string, number> } {
  const per = (value: number): number => Math.round((value / messages) * 100) / 100;
  const cassandra: Record<string, { writes: number; reads: number; scans: number }> = {};
  for (const [table, counts] of Object.entries(after.cassandra)) {
    const base = before.cassandra[table] ?? { writes: 0, reads: 0, scans: 0 };
    const delta = {
      writes: per(counts.writes - base.writes),
      reads: per(counts.reads - base.reads),
      scans: per(counts.scans - base.scans),
    };
    if (delta.writes + delta.reads + delta.scans > 0) cassandra[table] = delta;
  }
  const kafka: Record<string, number> = {};
  for (const [topic, offsets] of Object.entries(after.kafka)) {
    const delta = per(offsets - (before.kafka[topic] ?? 0));
    if (delta > 0) kafka[topic] = delta;
  }
  return { cassandra, kafka };
}

/** Table rows for the report: totals first, then each table and topic. */
export function workRows(work: ReturnType<typeof workPerMessage>): Array<[string, string]> {
  const tables = Object.entries(work.cassandra).sort(([a], [b]) => a.localeCompare(b));
  const topics = Object.entries(work.kafka).sort(([a], [b]) => a.localeCompare(b));
  const total = (pick: (c: { writes: number; reads: number; scans: number }) => number): string =>
    tables.reduce((sum, [, counts]) => sum + pick(counts), 0).toFixed(2);
  return [
    [
      'Cassandra per message',
      `${total((c) => c.writes)} writes, ${total((c) => c.reads)} reads, ${total((c) => c.scans)} scans: ` +
        tables.map(([table, c]) => `${table} ${c.writes}w/${c.reads}r${c.scans > 0 ? `/${c.scans}s` : ''}`).join(', '),
    ],
    [
      'Kafka per message',
      `${topics.reduce((sum, [, n]) => sum + n, 0).toFixed(2)} offsets (records + transaction markers): ` +
        topics.map(([topic, n]) => `${topic} ${n}`).join(', '),
    ],
  ];
}
