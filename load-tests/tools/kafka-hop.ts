/**
 * One Kafka hop, measured: produce → consume latency at a fixed offered rate (open loop: record i is due at
 * start + i / rate and its latency runs from that moment, so a producer or consumer falling behind shows up as
 * latency instead of a slower send rate), over topics of N partitions, with raw kafkajs and through our bus.
 *
 *   npm run bench:kafka-hop -w @chatmesh/load-tests -- [--rate 2000[,500...]] [--duration-s 20] [--partitions 1,4,12]
 *       [--modes raw,raw-async-commit,bus,bus-keyed] [--repeat 1] [--warmup-s 2] [--key-concurrency 16]
 *       [--partitions-concurrently 1] [--max-wait-ms 100] [--value-bytes 100] [--drain-timeout-s 30]
 *       [--results-dir DIR] [--note TEXT]
 *
 * Modes:
 * - `raw`: kafkajs as its README shows it: a default producer (acks=-1, records due in the same timer tick sent
 *   together) and `eachMessage` with autoCommit (kafkajs commits after every fetched batch and waits for it).
 * - `raw-async-commit`: the same with autoCommit off and offsets committed behind the handler, coalesced into one
 *   OffsetCommit in flight at a time for all partitions (what the bus does since this benchmark).
 * - `bus`: `createKafkaBus` with `subscribe` (keyConcurrency 1), `bus.producer.send` per tick.
 * - `bus-keyed`: the same with `keyConcurrency` (default 16), as the services run.
 *
 * Every run uses its own topic (`hop-<random>-p<N>`, deleted at the end) and group. Endpoint: KAFKA_BROKERS
 * (or CHATMESH_TEST_KAFKA_BROKERS), default 127.0.0.1:19092. Prints a table and writes
 * `load-tests/results/<date>-kafka-hop.json` (one file per day; a later run on the same day gets a suffix).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, Producer } from 'kafkajs';
import { createKafkaBus, type Bus, type Subscription } from '@chatmesh/bus';
import { quantileOf } from '../src/latency-stats.js';
import { readMachineInfo } from '../src/machine-info.js';

const { Kafka, logLevel } = kafkajs;

const MODES = ['raw', 'raw-async-commit', 'bus', 'bus-keyed', 'bus-relay', 'bus-txn'] as const;
type Mode = (typeof MODES)[number];

interface HopOptions {
  readonly brokers: readonly string[];
  /** Offered rates, records/s: each (rate, partitions, mode) is one run. */
  readonly rates: readonly number[];
  readonly durationS: number;
  readonly warmupS: number;
  readonly partitions: readonly number[];
  readonly modes: readonly Mode[];
  readonly repeat: number;
  readonly keyConcurrency: number;
  readonly partitionsConcurrently: number;
  readonly maxWaitMs: number;
  readonly valueBytes: number;
  readonly drainTimeoutS: number;
  readonly resultsDir: string;
  readonly note: string;
}

interface HopRun {
  readonly mode: Mode;
  readonly partitions: number;
  readonly rate: number;
  readonly repeat: number;
  readonly sent: number;
  readonly received: number;
  readonly duplicates: number;
  /** Latencies counted: records due after the warm-up. */
  readonly measured: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** How late the producer's timer ticks ran behind their schedule (p99), a sign of a busy event loop or CPU. */
  readonly tickLagP99Ms: number;
}

const LOAD_TESTS_DIR = fileURLToPath(new URL('../', import.meta.url));
const USAGE =
  'usage: kafka-hop.ts [--rate N[,N...]] [--duration-s N] [--warmup-s N] [--partitions 1,4,12] [--modes raw,raw-async-commit,bus,bus-keyed]\n' +
  '         [--repeat N] [--key-concurrency N] [--partitions-concurrently N] [--max-wait-ms N] [--value-bytes N]\n' +
  '         [--drain-timeout-s N] [--results-dir DIR] [--note TEXT]';

function parseOptions(argv: readonly string[]): HopOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rate: { type: 'string', default: '2000' },
      'duration-s': { type: 'string', default: '20' },
      'warmup-s': { type: 'string', default: '2' },
      partitions: { type: 'string', default: '1,4,12' },
      modes: { type: 'string', default: MODES.join(',') },
      repeat: { type: 'string', default: '1' },
      'key-concurrency': { type: 'string', default: '16' },
      'partitions-concurrently': { type: 'string', default: '1' },
      'max-wait-ms': { type: 'string', default: '100' },
      'value-bytes': { type: 'string', default: '100' },
      'drain-timeout-s': { type: 'string', default: '30' },
      'results-dir': { type: 'string', default: join(LOAD_TESTS_DIR, 'results') },
      note: { type: 'string', default: '' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const positive = (name: string, raw: string, min = 1): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}\n${USAGE}`);
    return value;
  };
  const modes = values.modes.split(',').map((mode) => mode.trim());
  for (const mode of modes)
    if (!(MODES as readonly string[]).includes(mode)) throw new Error(`unknown mode "${mode}"\n${USAGE}`);
  const brokers = (process.env.KAFKA_BROKERS ?? process.env.CHATMESH_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  for (const broker of brokers) {
    const host = broker.split(':')[0];
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1')
      throw new Error(`this benchmark runs on loopback only (got broker ${broker})`);
  }
  return {
    brokers,
    rates: values.rate.split(',').map((rate) => positive('rate', rate)),
    durationS: positive('duration-s', values['duration-s']),
    warmupS: positive('warmup-s', values['warmup-s'], 0),
    partitions: values.partitions.split(',').map((count) => Math.trunc(positive('partitions', count))),
    modes: modes as Mode[],
    repeat: Math.trunc(positive('repeat', values.repeat)),
    keyConcurrency: Math.trunc(positive('key-concurrency', values['key-concurrency'])),
    partitionsConcurrently: Math.trunc(positive('partitions-concurrently', values['partitions-concurrently'])),
    maxWaitMs: Math.trunc(positive('max-wait-ms', values['max-wait-ms'])),
    valueBytes: Math.trunc(positive('value-bytes', values['value-bytes'], 8)),
    drainTimeoutS: positive('drain-timeout-s', values['drain-timeout-s']),
    resultsDir: values['results-dir'],
    note: values.note,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const suffix = (): string => randomBytes(4).toString('hex');

/** What a run measures: each record carries its index and the moment it was due (performance.now()). */
class HopRecorder {
  readonly latencies: number[] = [];
  readonly seen = new Set<number>();
  duplicates = 0;
  /** Records due before this moment (performance.now()) are not counted. */
  warmupEndMs = Number.POSITIVE_INFINITY;

  receive(value: Buffer | null): void {
    if (!value) return;
    const index = value.readUInt32BE(0);
    const dueAt = value.readDoubleBE(4);
    const latency = performance.now() - dueAt;
    if (this.seen.has(index)) {
      this.duplicates++;
      return;
    }
    this.seen.add(index);
    if (dueAt >= this.warmupEndMs) this.latencies.push(latency);
  }
}

/** A consumer side of one run: started and joined before the first record is due. */
interface HopConsumer {
  stop(): Promise<void>;
}
/** A producer side: `send` must not wait for the broker (the schedule is open loop). */
interface HopProducer {
  send(values: Buffer[]): void;
  failures(): number;
  close(): Promise<void>;
}

/**
 * Offsets committed behind the handler: the latest finished offset of each partition is remembered, and one
 * OffsetCommit at a time carries all of them (Kafka 4's group coordinator answers a commit only after
 * `group.coordinator.append.linger.ms`, 5 ms by default, so one commit per batch, awaited, costs ~6 ms each).
 */
class CoalescingCommitter {
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private running: Promise<void> | null = null;
  constructor(private readonly commit: Consumer['commitOffsets']) {}

  mark(topic: string, partition: number, offset: string): void {
    this.pending.set(`${topic}|${partition}`, { topic, partition, offset });
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending.values()];
      this.pending.clear();
      await this.commit(batch).catch(() => undefined);
    }
    this.running = null;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}

async function startRawConsumer(
  kafka: InstanceType<typeof Kafka>,
  topic: string,
  options: HopOptions,
  recorder: HopRecorder,
  asyncCommit: boolean,
): Promise<HopConsumer> {
  const consumer = kafka.consumer({ groupId: `hop-${suffix()}`, maxWaitTimeInMs: options.maxWaitMs });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const committer = new CoalescingCommitter((offsets) => consumer.commitOffsets(offsets));
  await consumer.run({
    autoCommit: !asyncCommit,
    partitionsConsumedConcurrently: options.partitionsConcurrently,
    eachMessage: async ({ topic: from, partition, message }) => {
      recorder.receive(message.value);
      if (asyncCommit) committer.mark(from, partition, (BigInt(message.offset) + 1n).toString());
    },
  });
  await joined;
  return {
    async stop() {
      await committer.idle();
      await consumer.disconnect();
    },
  };
}

/**
 * Two hops, as ingest and the inbox sequencer run them: a keyed subscription relays each record to a second topic
 * (with the shared producer, or staged in its transaction with `txn`), and a reader of that topic records it.
 */
async function startBusRelay(
  bus: Bus,
  topic: string,
  options: HopOptions,
  recorder: HopRecorder,
  transactional: boolean,
): Promise<HopConsumer> {
  const relayed = `${topic}-out`;
  const relay: Subscription = await bus.subscribe({
    groupId: `hop-relay-${suffix()}`,
    topics: [topic],
    keyConcurrency: options.keyConcurrency,
    partitionsConcurrently: options.partitionsConcurrently,
    transactional,
    deadLetter: { encode: async (envelope) => Buffer.from(JSON.stringify({ ...envelope, originalValue: null })) },
    handler: async (record, context) => {
      const out = [{ key: record.key, value: record.value }];
      if (context.produce) context.produce(relayed, out);
      else await bus.producer.send(relayed, out);
    },
  });
  const reader = await startBusConsumer(bus, relayed, options, recorder, options.keyConcurrency);
  await relay.ready;
  return {
    stop: async () => {
      await relay.stop();
      await reader.stop();
    },
  };
}

async function startBusConsumer(
  bus: Bus,
  topic: string,
  options: HopOptions,
  recorder: HopRecorder,
  keyConcurrency: number,
): Promise<HopConsumer> {
  const subscription: Subscription = await bus.subscribe({
    groupId: `hop-${suffix()}`,
    topics: [topic],
    keyConcurrency,
    partitionsConcurrently: options.partitionsConcurrently,
    deadLetter: { encode: async (envelope) => Buffer.from(JSON.stringify({ ...envelope, originalValue: null })) },
    handler: async (record) => recorder.receive(record.value),
  });
  await subscription.ready;
  return { stop: () => subscription.stop() };
}

function rawProducer(producer: Producer, topic: string): HopProducer {
  let failed = 0;
  let keyIndex = 0;
  return {
    send(values) {
      producer
        .send({ topic, acks: -1, messages: values.map((value) => ({ key: `k${keyIndex++ % 1024}`, value })) })
        .catch(() => (failed += values.length));
    },
    failures: () => failed,
    close: () => producer.disconnect(),
  };
}

function busProducer(bus: Bus, topic: string): HopProducer {
  let failed = 0;
  let keyIndex = 0;
  return {
    send(values) {
      bus.producer
        .send(
          topic,
          values.map((value) => ({ key: `k${keyIndex++ % 1024}`, value })),
        )
        .catch(() => (failed += values.length));
    },
    failures: () => failed,
    close: async () => undefined,
  };
}

/** Sends `rate` records a second for `durationS` on a 1 ms timer; records due in the same tick go together. */
async function driveOpenLoop(
  producer: HopProducer,
  options: HopOptions,
  rate: number,
  startAt: number,
): Promise<{ sent: number; tickLags: number[] }> {
  const total = Math.round(rate * options.durationS);
  const intervalMs = 1000 / rate;
  const tickLags: number[] = [];
  let sent = 0;
  let lastTick = startAt;
  while (sent < total) {
    await sleep(1);
    const now = performance.now();
    tickLags.push(Math.max(0, now - lastTick - 1));
    lastTick = now;
    const due = Math.min(total, Math.floor((now - startAt) / intervalMs) + 1);
    if (due <= sent) continue;
    const values: Buffer[] = [];
    for (; sent < due; sent++) {
      const value = Buffer.alloc(options.valueBytes);
      value.writeUInt32BE(sent, 0);
      value.writeDoubleBE(startAt + sent * intervalMs, 4);
      values.push(value);
    }
    producer.send(values);
  }
  return { sent, tickLags };
}

async function createHopTopics(admin: Admin, topic: string, partitions: number, withTwin: boolean): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const wanted = [
    { topic, numPartitions: partitions, replicationFactor: 1 },
    ...(withTwin ? [{ topic: `${topic}.dlq`, numPartitions: 1, replicationFactor: 1 }] : []),
  ].filter((spec) => !existing.has(spec.topic));
  if (wanted.length > 0) await admin.createTopics({ waitForLeaders: true, topics: wanted });
}

async function runOnce(
  mode: Mode,
  partitions: number,
  rate: number,
  repeat: number,
  options: HopOptions,
  admin: Admin,
  kafka: InstanceType<typeof Kafka>,
): Promise<HopRun> {
  const topic = `hop-${suffix()}-p${partitions}`;
  const bus = mode.startsWith('bus')
    ? createKafkaBus({ brokers: options.brokers, maxWaitTimeMs: options.maxWaitMs, logLevel: 'error' })
    : undefined;
  // A busy broker may answer a fresh topic's metadata with UNKNOWN_TOPIC_OR_PARTITION for a moment: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      await createHopTopics(admin, topic, partitions, bus !== undefined);
      if (mode === 'bus-relay' || mode === 'bus-txn') await createHopTopics(admin, `${topic}-out`, partitions, true);
      break;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(500 * attempt);
    }
  }
  const recorder = new HopRecorder();
  let consumer: HopConsumer | undefined;
  let producer: HopProducer | undefined;
  try {
    if (bus && (mode === 'bus-relay' || mode === 'bus-txn')) {
      consumer = await startBusRelay(bus, topic, options, recorder, mode === 'bus-txn');
      producer = busProducer(bus, topic);
    } else if (bus) {
      consumer = await startBusConsumer(
        bus,
        topic,
        options,
        recorder,
        mode === 'bus-keyed' ? options.keyConcurrency : 1,
      );
      producer = busProducer(bus, topic);
    } else {
      consumer = await startRawConsumer(kafka, topic, options, recorder, mode === 'raw-async-commit');
      const raw = kafka.producer({ allowAutoTopicCreation: false });
      await raw.connect();
      producer = rawProducer(raw, topic);
    }
    // Schedule from now (the joins above took their time): half a second for connections to settle.
    const begin = performance.now() + 500;
    recorder.warmupEndMs = begin + options.warmupS * 1000;
    await sleep(Math.max(0, begin - performance.now()));
    const { sent, tickLags } = await driveOpenLoop(producer, options, rate, begin);
    const drainUntil = performance.now() + options.drainTimeoutS * 1000;
    while (recorder.seen.size + producer.failures() < sent && performance.now() < drainUntil) await sleep(20);
    const sorted = [...recorder.latencies].sort((a, b) => a - b);
    const round = (value: number): number => Math.round(value * 10) / 10;
    const lags = [...tickLags].sort((a, b) => a - b);
    return {
      mode,
      partitions,
      rate,
      repeat,
      sent,
      received: recorder.seen.size,
      duplicates: recorder.duplicates,
      measured: sorted.length,
      p50Ms: round(quantileOf(sorted, 0.5)),
      p90Ms: round(quantileOf(sorted, 0.9)),
      p99Ms: round(quantileOf(sorted, 0.99)),
      p999Ms: round(quantileOf(sorted, 0.999)),
      maxMs: round(sorted.at(-1) ?? Number.NaN),
      meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length)),
      tickLagP99Ms: round(quantileOf(lags, 0.99)),
    };
  } finally {
    await consumer?.stop().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, ...(bus ? [`${topic}.dlq`] : [])] }).catch(() => undefined);
  }
}

function renderTable(runs: readonly HopRun[]): string {
  const header = [
    'mode',
    'parts',
    'rate/s',
    'sent',
    'recv',
    'dup',
    'p50',
    'p90',
    'p99',
    'p99.9',
    'max',
    'tick lag p99',
  ];
  const rows = runs.map((run) => [
    run.mode,
    String(run.partitions),
    String(run.rate),
    String(run.sent),
    String(run.received),
    String(run.duplicates),
    ...[run.p50Ms, run.p90Ms, run.p99Ms, run.p999Ms, run.maxMs, run.tickLagP99Ms].map((ms) => ms.toFixed(1)),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, column === 0 ? 16 : 7, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** Median of each figure over the repeats of one (mode, partitions). */
function mediansOf(runs: readonly HopRun[]): HopRun[] {
  const groups = new Map<string, HopRun[]>();
  for (const run of runs) {
    const key = `${run.rate}|${run.partitions}|${run.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  };
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const pick = (field: keyof HopRun): number => median(group.map((run) => run[field] as number));
    return {
      ...first,
      repeat: group.length,
      sent: pick('sent'),
      received: pick('received'),
      duplicates: pick('duplicates'),
      measured: pick('measured'),
      p50Ms: pick('p50Ms'),
      p90Ms: pick('p90Ms'),
      p99Ms: pick('p99Ms'),
      p999Ms: pick('p999Ms'),
      maxMs: pick('maxMs'),
      meanMs: pick('meanMs'),
      tickLagP99Ms: pick('tickLagP99Ms'),
    };
  });
}

function resultFile(dir: string): string {
  const date = new Date().toISOString().slice(0, 10);
  let file = join(dir, `${date}-kafka-hop.json`);
  for (let index = 2; existsSync(file); index++) file = join(dir, `${date}-kafka-hop-${index}.json`);
  return file;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const kafka = new Kafka({ clientId: 'kafka-hop', brokers: [...options.brokers], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const machine = readMachineInfo();
  const runs: HopRun[] = [];
  const failures: Array<{ mode: Mode; partitions: number; rate: number; repeat: number; error: string }> = [];
  const startedAt = new Date().toISOString();
  try {
    for (let repeat = 1; repeat <= options.repeat; repeat++) {
      for (const rate of options.rates) {
        for (const partitions of options.partitions) {
          for (const mode of options.modes) {
            try {
              const run = await runOnce(mode, partitions, rate, repeat, options, admin, kafka);
              runs.push(run);
              process.stdout.write(`${renderTable([run]).split('\n')[1]}\n`);
            } catch (error) {
              const message = error instanceof Error ? error.message : String(error);
              failures.push({ mode, partitions, rate, repeat, error: message });
              process.stdout.write(`${mode} ${partitions} ${rate}: failed (${message}), skipped\n`);
            }
          }
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
  const medians = mediansOf(runs);
  process.stdout.write(
    `\nkafka hop, ${options.rates.join(' and ')} records/s for ${options.durationS} s (after ${options.warmupS} s warm-up), ` +
      `medians of ${options.repeat} run(s), ms:\n${renderTable(medians)}\n`,
  );
  const kafkajsVersion = (
    JSON.parse(readFileSync(join(LOAD_TESTS_DIR, '..', 'node_modules', 'kafkajs', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  mkdirSync(options.resultsDir, { recursive: true });
  const file = resultFile(options.resultsDir);
  const { resultsDir: _resultsDir, ...recorded } = options;
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: 'kafka-hop', startedAt, kafkajs: kafkajsVersion, options: recorded, machine, medians, runs, failures }, null, 2)}\n`,
  );
  process.stdout.write(`written to ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
