/**
 * `--baseline`: what the parts underneath can do on this machine, measured in the same run so the
 * benchmark's figures can be read as ratios to them.
 *
 * - Cassandra: plain prepared `INSERT`s (and, for comparison, the same with `IF NOT EXISTS`, the
 *   lightweight transaction the message path uses) into a throwaway keyspace, 128 in flight, 5 s each.
 * - Kafka: a bare kafkajs produce → consume hop (idempotent producer, `acks=all`, one produce request at
 *   a time; a consumer with `maxWaitTimeInMs` 100, as libs/bus's), records offered open loop at 2,000/s for
 *   10 s, latency from each record's scheduled time to its consumption; on 1 and 12 partitions.
 *
 * Topics and the keyspace are named after the run and deleted at the end.
 */
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { createCassandraClient } from '@chatmesh/store';
import { LatencyHistogram, type LatencyPercentiles } from './histogram.js';

export interface CassandraBaseline {
  readonly plainInsertsPerSecond: number;
  readonly lwtInsertsPerSecond: number;
  readonly inFlight: number;
  readonly secondsEach: number;
  readonly errors: number;
}

export interface KafkaHopBaseline {
  readonly partitions: number;
  readonly offeredPerSecond: number;
  readonly seconds: number;
  readonly produced: number;
  readonly consumed: number;
  readonly latency: LatencyPercentiles;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

export async function measureCassandra(options: {
  contactPoints: readonly string[];
  localDataCenter: string;
  runId: string;
  inFlight?: number;
  seconds?: number;
}): Promise<CassandraBaseline> {
  const inFlight = options.inFlight ?? 128;
  const seconds = options.seconds ?? 5;
  const keyspace = `sd_baseline_${options.runId.replace(/[^a-z0-9]/gi, '')}`;
  const client = createCassandraClient({
    contactPoints: options.contactPoints,
    localDataCenter: options.localDataCenter,
  });
  let errors = 0;
  try {
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await client.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.rows (k text, c bigint, v text, PRIMARY KEY (k, c))`);
    const value = 'x'.repeat(100);
    const run = async (query: string): Promise<number> => {
      let done = 0;
      let next = 0;
      const deadline = performance.now() + seconds * 1000;
      const lane = async (): Promise<void> => {
        while (performance.now() < deadline) {
          const n = next++;
          try {
            await client.execute(query, [`k${n % 4096}`, n, value], { prepare: true });
            done++;
          } catch {
            errors++;
          }
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: inFlight }, lane));
      return Math.round(done / ((performance.now() - started) / 1000));
    };
    const plain = await run(`INSERT INTO ${keyspace}.rows (k, c, v) VALUES (?, ?, ?)`);
    await client.execute(`TRUNCATE ${keyspace}.rows`);
    const lwt = await run(`INSERT INTO ${keyspace}.rows (k, c, v) VALUES (?, ?, ?) IF NOT EXISTS`);
    return { plainInsertsPerSecond: plain, lwtInsertsPerSecond: lwt, inFlight, secondsEach: seconds, errors };
  } finally {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
    await client.shutdown();
  }
}

export async function measureKafkaHop(options: {
  brokers: readonly string[];
  runId: string;
  partitions: number;
  ratePerSecond?: number;
  seconds?: number;
}): Promise<KafkaHopBaseline> {
  const rate = options.ratePerSecond ?? 2000;
  const seconds = options.seconds ?? 10;
  const total = rate * seconds;
  const topic = `sd-baseline-${options.runId}-p${options.partitions}`;
  const kafka = new Kafka({
    brokers: [...options.brokers],
    clientId: `sd-baseline-${options.runId}`,
    logLevel: kafkaLogLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: topic, maxWaitTimeInMs: 100 });
  const histogram = new LatencyHistogram();
  const clock = (): number => performance.timeOrigin + performance.now();
  let consumed = 0;
  let produced = 0;
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: options.partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const scheduled = Number(message.value?.toString('utf8').split(' ')[0]);
        histogram.record(clock() - scheduled);
        consumed++;
      },
    });
    const joinDeadline = Date.now() + 30_000;
    while (!joined && Date.now() < joinDeadline) await sleep(50);
    // Open loop: every few ms, everything that fell due goes out in one produce request (one at a time).
    const start = clock() + 100;
    const padding = 'x'.repeat(100);
    let next = 0;
    while (next < total) {
      const now = clock();
      const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
      if (due > next) {
        const messages = [];
        for (; next < due; next++) {
          messages.push({ key: `k${next % 1000}`, value: `${start + (next * 1000) / rate} ${padding}` });
        }
        await producer.send({ topic, acks: -1, messages });
        produced += messages.length;
      } else {
        await sleep(Math.max(1, start + (next * 1000) / rate - clock()));
      }
    }
    const drainDeadline = Date.now() + 30_000;
    while (consumed < produced && Date.now() < drainDeadline) await sleep(50);
    return {
      partitions: options.partitions,
      offeredPerSecond: rate,
      seconds,
      produced,
      consumed,
      latency: histogram.percentiles(),
    };
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => {});
    await admin.deleteGroups([topic]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}
