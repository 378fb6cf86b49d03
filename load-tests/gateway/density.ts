/**
 * Gateway connection density (issue 6): how many bytes of gateway memory one idle, authenticated
 * WebSocket costs. The gateway runs in its own process (`npm start`'s embedded launcher, memory bus,
 * store and presence); several generator processes open N connections from their own 127.0.0.x source
 * addresses and hold them; at each count the gateway's RSS (`/proc/<pid>/status`) and heap are read, and
 * the bytes per additional connection are fitted by least squares over the counts.
 *
 * With `--group-size N` every connecting user is a member of chats, created before the baseline through
 * the protocol (`membership-plan.ts`: a group of N members, a broadcast chat from 100 by default, and
 * `--direct-chats-per-user` 1:1 chats); with `--target stack` the measured process is the stack's gateway
 * (every service its own process on Kafka, Cassandra, Redis and the registry).
 *
 * `npm run bench:gateway-density -w @chatmesh/load-tests -- --counts 1000,5000,10000,18000`
 * `npm run bench:gateway-density -w @chatmesh/load-tests -- --target stack --group-size 100 --settle-ms 30000`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { BenchError, readMachineInfo } from '../src/index.js';
import { createTokenFactory } from '../send-deliver/tokens.js';
import { startEmbeddedDensityTarget, startStackDensityTarget, type DensityTarget } from './density-target.js';
import type { GeneratorConfig } from './density-generator.js';
import { readMetrics, readProcessMemory, REPO_ROOT } from './embedded-process.js';
import { fitLine, formatBytes, machineRows, renderTwoColumns, writeResult } from './gateway-report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Sockets one generator process holds at most (its open files limit is 20,000 here). */
const MAX_PER_GENERATOR = 19_000;
const TARGET_BYTES_PER_CONNECTION = 2048;
/** The issue's ceilings with memberships: a stack gateway ≤ 4 KiB per connection, embedded mode ≤ 8 KiB. */
const MEMBERSHIP_LIMIT_BYTES = { stack: 4096, embedded: 8192 } as const;
const GIB = 1024 ** 3;

const USAGE =
  'usage: npm run bench:gateway-density -w @chatmesh/load-tests -- [--counts 1000,5000,10000,18000] [--generators N]\n' +
  '         [--target embedded|stack] [--group-size N (0: no chats)] [--direct-chats-per-user N (even)]\n' +
  '         [--setup-blocks-in-flight N per generator] [--setup-timeout-ms N] [--ready-timeout-s N] [--malloc-arena-max N]\n' +
  '         [--concurrency N per generator] [--settle-ms N] [--services delivery-gateway|all] [--compiled]\n' +
  '         [--node-flags="--max-semi-space-size=1 ..."]\n' +
  '         [--heap-snapshots DIR] [--results-dir DIR] [--note TEXT]';

function invalid(message: string): never {
  throw new BenchError('CM_ERR_BENCH_INVALID_OPTIONS', `${message}\n${USAGE}`, { context: { phase: 'options' } });
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      counts: { type: 'string', default: '1000,5000,10000,18000' },
      generators: { type: 'string' },
      concurrency: { type: 'string', default: '64' },
      'settle-ms': { type: 'string', default: '5000' },
      services: { type: 'string' },
      target: { type: 'string', default: 'embedded' },
      'group-size': { type: 'string', default: '0' },
      'direct-chats-per-user': { type: 'string', default: '2' },
      'setup-blocks-in-flight': { type: 'string', default: '4' },
      'setup-timeout-ms': { type: 'string', default: '120000' },
      'ready-timeout-s': { type: 'string', default: '180' },
      'malloc-arena-max': { type: 'string' },
      compiled: { type: 'boolean', default: false },
      'node-flags': { type: 'string', default: '' },
      'heap-snapshots': { type: 'string' },
      'results-dir': { type: 'string', default: resolve(HERE, '../results') },
      note: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const counts = values.counts.split(',').map((raw) => {
    if (!/^\d+$/.test(raw.trim())) invalid(`--counts must be integers, got "${raw}"`);
    return Number(raw.trim());
  });
  if (counts.some((c, i) => c < 1 || (i > 0 && c <= counts[i - 1]!))) invalid('--counts must be ascending and ≥ 1');
  const max = counts.at(-1)!;
  const generators = values.generators === undefined ? Math.max(2, Math.ceil(max / 5000)) : Number(values.generators);
  if (!Number.isInteger(generators) || generators < 1 || generators > 200) invalid('--generators must be 1-200');
  if (max / generators > MAX_PER_GENERATOR)
    invalid(`more than ${MAX_PER_GENERATOR} sockets per generator: raise --generators`);
  if (!/^(--[a-z0-9-]+(=[A-Za-z0-9._-]+)?\s*)*$/.test(values['node-flags'].trim()))
    invalid('--node-flags takes node flags only (--name or --name=value, space separated)');
  const concurrency = Number(values.concurrency);
  const settleMs = Number(values['settle-ms']);
  if (!Number.isInteger(concurrency) || concurrency < 1) invalid('--concurrency must be a positive integer');
  if (!Number.isInteger(settleMs) || settleMs < 0) invalid('--settle-ms must be a non-negative integer');
  const target = values.target;
  if (target !== 'embedded' && target !== 'stack') invalid('--target must be embedded or stack');
  const groupSize = Number(values['group-size']);
  const directPerUser = groupSize === 0 ? 0 : Number(values['direct-chats-per-user']);
  if (!Number.isInteger(groupSize) || groupSize === 1 || groupSize < 0 || groupSize > 1024)
    invalid('--group-size must be 0 (no chats) or 2-1024');
  if (
    !Number.isInteger(directPerUser) ||
    directPerUser < 0 ||
    directPerUser % 2 !== 0 ||
    (groupSize > 0 && directPerUser >= groupSize)
  )
    invalid('--direct-chats-per-user must be even, ≥ 0 and below --group-size');
  // Chats need ingest and fan-out: in embedded mode they run in the measured process.
  const services = values.services ?? (groupSize > 0 ? 'all' : 'delivery-gateway');
  if (target === 'embedded' && groupSize > 0 && services !== 'all')
    invalid('--group-size needs --services all in embedded mode (chats are created through ingest and fan-out)');
  if (target === 'stack' && (values.services !== undefined || values.compiled))
    invalid('--services and --compiled are embedded-mode options');
  const positive = (name: string, raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) invalid(`--${name} must be a positive integer`);
    return value;
  };
  return {
    target: target as 'embedded' | 'stack',
    groupSize,
    directPerUser,
    setupBlocksInFlight: positive('setup-blocks-in-flight', values['setup-blocks-in-flight']),
    setupTimeoutMs: positive('setup-timeout-ms', values['setup-timeout-ms']),
    readyTimeoutMs: positive('ready-timeout-s', values['ready-timeout-s']) * 1000,
    // glibc's MALLOC_ARENA_MAX for the measured process: tells allocator retention from live native memory.
    mallocArenaMax:
      values['malloc-arena-max'] === undefined ? null : positive('malloc-arena-max', values['malloc-arena-max']),
    counts,
    generators,
    concurrency,
    settleMs,
    services,
    compiled: values.compiled,
    nodeFlags: values['node-flags'].trim(),
    heapSnapshotDir: values['heap-snapshots'] === undefined ? null : resolve(values['heap-snapshots']),
    resultsDir: values['results-dir'],
    note: values.note,
  };
}

interface Generator {
  readonly child: ChildProcess;
  readonly localAddress: string;
  /** Users opened so far: `[base, base + opened)`. */
  opened: number;
  readonly base: number;
  request(message: unknown, reply: string): Promise<Record<string, unknown>>;
}

async function startGenerator(config: GeneratorConfig, index: number): Promise<Generator> {
  const { localAddress } = config;
  const entry = join(HERE, 'density-generator.ts');
  const child = spawn('bash', ['-c', `ulimit -n 20000 && exec node --import tsx ${JSON.stringify(entry)}`], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      CHATMESH_BENCH_GENERATOR: JSON.stringify(config),
    },
  });
  const waiters = new Map<string, (message: Record<string, unknown>) => void>();
  child.on('message', (message: Record<string, unknown>) => {
    if (message['type'] === 'fatal') {
      process.stderr.write(`generator ${index} failed: ${String(message['message'])}\n`);
      child.kill('SIGKILL');
      return;
    }
    const waiter = waiters.get(String(message['type']));
    waiters.delete(String(message['type']));
    waiter?.(message);
  });
  const request = (message: unknown, reply: string): Promise<Record<string, unknown>> =>
    new Promise((resolveReply, reject) => {
      waiters.set(reply, resolveReply);
      child.once('exit', (code) => reject(new Error(`generator ${index} exited with ${code}`)));
      if (message !== null) child.send(message as object);
    });
  await request(null, 'ready');
  return { child, localAddress, opened: 0, base: 0, request };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

interface Sample {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly connections: number;
  /** Broadcast chat subscriptions the gateway holds (one per socket per big group). */
  readonly broadcastSubscriptions: number;
}

async function sample(pid: number, url: string): Promise<Sample> {
  process.kill(pid, 'SIGUSR2'); // a full GC in the gateway (gc-on-signal.ts)
  await sleep(500);
  const memory = await readProcessMemory(pid);
  const metrics = await readMetrics(url, [
    'chatmesh_gateway_connections_open',
    'nodejs_heap_size_used_bytes',
    'nodejs_heap_size_total_bytes',
    'chatmesh_gateway_broadcast_subscriptions',
  ]);
  return {
    rssBytes: memory.rssBytes,
    heapUsedBytes: metrics['nodejs_heap_size_used_bytes'] ?? Number.NaN,
    heapTotalBytes: metrics['nodejs_heap_size_total_bytes'] ?? Number.NaN,
    connections: metrics['chatmesh_gateway_connections_open'] ?? Number.NaN,
    broadcastSubscriptions: metrics['chatmesh_gateway_broadcast_subscriptions'] ?? 0,
  };
}

/** Three samples, each after a full GC, a second apart after `settleMs`; the median RSS one. */
async function settledSample(pid: number, url: string, settleMs: number): Promise<Sample> {
  await sleep(settleMs);
  const samples: Sample[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(await sample(pid, url));
    if (i < 2) await sleep(1000);
  }
  samples.sort((a, b) => a.rssBytes - b.rssBytes);
  return samples[1]!;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const machine = readMachineInfo();
  const logDir = `/tmp/chatmesh-bench/gateway-density-${startedAt.replace(/[:.]/g, '-')}`;
  process.stdout.write(`starting the ${options.target} gateway (logs in ${logDir})...\n`);
  if (options.heapSnapshotDir !== null) mkdirSync(options.heapSnapshotDir, { recursive: true });
  const gateway: DensityTarget =
    options.target === 'stack'
      ? await startStackDensityTarget({
          logDir,
          readyTimeoutMs: options.readyTimeoutMs,
          nodeFlags: options.nodeFlags,
          heapSnapshotDir: options.heapSnapshotDir,
          mallocArenaMax: options.mallocArenaMax,
        })
      : await startEmbeddedDensityTarget({
          logDir,
          services: options.services,
          compiled: options.compiled,
          nodeFlags: options.nodeFlags,
          heapSnapshotDir: options.heapSnapshotDir,
          mallocArenaMax: options.mallocArenaMax,
        });
  const snapshots: string[] = [];
  /** With --heap-snapshots: a heap snapshot of the gateway (gc-on-signal.ts writes it on SIGWINCH). */
  const snapshot = async (): Promise<void> => {
    if (options.heapSnapshotDir === null) return;
    const name = String(snapshots.length);
    process.kill(gateway.pid, 'SIGWINCH');
    const deadline = Date.now() + 300_000;
    while (!existsSync(join(options.heapSnapshotDir, `${name}.done`))) {
      if (Date.now() > deadline)
        throw new BenchError('CM_ERR_BENCH_TIMEOUT', 'no heap snapshot within 5 min', {
          context: { phase: 'measure' },
        });
      await sleep(250);
    }
    snapshots.push(join(options.heapSnapshotDir, `${name}.heapsnapshot`));
  };
  const generators: Generator[] = [];
  const membership = options.groupSize > 0;
  // Each generator owns whole blocks (one group each), dealt round robin, enough for its share of the top count.
  const blocksPerGenerator = membership
    ? Math.ceil(Math.ceil(options.counts.at(-1)! / options.generators) / options.groupSize)
    : 0;
  const prefix = `dn${startedAt.replace(/\D/g, '').slice(8, 14)}`;
  let setupReport: Record<string, unknown> | null = null;
  const rows: Array<Record<string, number>> = [];
  const notes: string[] = [];
  if (options.note) notes.push(options.note);
  try {
    // Fail early on a signer the gateway refuses (the generators would only count failures).
    await createTokenFactory(gateway.signer);
    for (let i = 0; i < options.generators; i++) {
      const config: GeneratorConfig = {
        wsUrl: gateway.wsUrl,
        setupWsUrl: gateway.setupWsUrl,
        localAddress: `127.0.0.${i + 2}`,
        signer: gateway.signer,
        concurrency: options.concurrency,
        connectTimeoutMs: 60_000,
        userPrefix: `g${i}u`,
        membership: membership
          ? {
              prefix,
              groupSize: options.groupSize,
              directPerUser: options.directPerUser,
              blocks: Array.from({ length: blocksPerGenerator }, (_, k) => i + k * options.generators),
            }
          : null,
      };
      const generator = await startGenerator(config, i);
      generators.push(Object.assign(generator, { base: 0 }));
    }
    if (membership) {
      const blocks = blocksPerGenerator * options.generators;
      process.stdout.write(
        `setup: ${blocks} groups of ${options.groupSize} and ${blocks * options.groupSize * (options.directPerUser / 2)} direct chats (${options.directPerUser} per user), through the protocol...\n`,
      );
      const started = performance.now();
      const replies = await Promise.all(
        generators.map((generator) =>
          generator.request(
            { type: 'setup', blocksInFlight: options.setupBlocksInFlight, timeoutMs: options.setupTimeoutMs },
            'setupDone',
          ),
        ),
      );
      const sum = (field: string): number => replies.reduce((s, r) => s + Number(r[field]), 0);
      setupReport = {
        users: blocks * options.groupSize,
        groups: blocks,
        groupSize: options.groupSize,
        directChatsPerUser: options.directPerUser,
        chatsCreated: sum('created'),
        chatsRefused: sum('refused'),
        connectFailed: sum('connectFailed'),
        connectRetried: sum('connectRetried'),
        chatCreatedMissing: sum('missingCreated'),
        ackTimeouts: sum('ackTimeouts'),
        firstProblem: replies.find((r) => r['firstProblem'] !== null)?.['firstProblem'] ?? null,
        seconds: Math.round((performance.now() - started) / 100) / 10,
      };
      process.stdout.write(`setup done: ${JSON.stringify(setupReport)}\n`);
      const expected = blocks * (1 + options.groupSize * (options.directPerUser / 2));
      if (setupReport['chatsCreated'] !== expected)
        notes.push(`setup created ${String(setupReport['chatsCreated'])} of ${expected} chats`);
      if (sum('missingCreated') > 0 || sum('connectFailed') > 0)
        notes.push(`setup incomplete: ${JSON.stringify(setupReport)}`);
    }
    const baseline = await settledSample(gateway.pid, gateway.metricsUrl, options.settleMs);
    await snapshot();
    process.stdout.write(
      `baseline: rss ${formatBytes(baseline.rssBytes)}, heap ${formatBytes(baseline.heapUsedBytes)}, ${baseline.connections} connections\n`,
    );
    let held = 0;
    for (const target of options.counts) {
      const add = target - held;
      const started = performance.now();
      const replies = await Promise.all(
        generators.map((generator, i) => {
          const share = Math.floor(add / generators.length) + (i < add % generators.length ? 1 : 0);
          const from = generator.opened;
          generator.opened += share;
          return generator.request({ type: 'open', from, to: from + share }, 'opened');
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const failed = replies.reduce((s, r) => s + Number(r['failed']), 0);
      held = replies.reduce((s, r) => s + Number(r['held']), 0);
      const firstError = replies.find((r) => r['firstError'] !== null)?.['firstError'];
      const replayedFrames = replies.reduce((s, r) => s + Number(r['replayedFrames'] ?? 0), 0);
      if (failed > 0) notes.push(`count ${target}: ${failed} connections failed (first: ${String(firstError)})`);
      const measured = await settledSample(gateway.pid, gateway.metricsUrl, options.settleMs);
      await snapshot();
      const row = {
        target,
        held,
        gatewayConnections: measured.connections,
        broadcastSubscriptions: measured.broadcastSubscriptions,
        replayedFramesSoFar: replayedFrames,
        failed,
        connectSeconds: Math.round(seconds * 100) / 100,
        connectsPerSecond: Math.round(add / seconds),
        rssBytes: measured.rssBytes,
        heapUsedBytes: measured.heapUsedBytes,
        heapTotalBytes: measured.heapTotalBytes,
        rssPerConnectionBytes: Math.round((measured.rssBytes - baseline.rssBytes) / held),
        heapPerConnectionBytes: Math.round((measured.heapUsedBytes - baseline.heapUsedBytes) / held),
        loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
      };
      rows.push(row);
      process.stdout.write(
        `${target}: held ${held} (gateway says ${measured.connections}, ${measured.broadcastSubscriptions} broadcast subscriptions), ${row.connectsPerSecond} conn/s, ` +
          `rss ${formatBytes(row.rssBytes)} (${formatBytes(row.rssPerConnectionBytes)}/conn), heap ${formatBytes(row.heapUsedBytes)} (${formatBytes(row.heapPerConnectionBytes)}/conn)\n`,
      );
    }
    const rssFit = fitLine(rows.map((r) => ({ x: r['gatewayConnections']!, y: r['rssBytes']! })));
    const heapFit = fitLine(rows.map((r) => ({ x: r['gatewayConnections']!, y: r['heapUsedBytes']! })));
    // RSS − V8 heap total: native memory (uWS sockets, buffers, malloc), without V8's stepwise headroom.
    const nativeFit = fitLine(
      rows.map((r) => ({ x: r['gatewayConnections']!, y: r['rssBytes']! - r['heapTotalBytes']! })),
    );
    const projected100kBytes = rssFit.intercept + rssFit.slope * 100_000;
    const loadAverageAtEnd = loadavg().map((v) => Math.round(v * 100) / 100);
    const limitBytes = membership ? MEMBERSHIP_LIMIT_BYTES[options.target] : TARGET_BYTES_PER_CONNECTION;
    const result = {
      benchmark: 'gateway-density',
      startedAt,
      target: options.target,
      gatewayProcess: gateway.description,
      environment: gateway.environment,
      memberships: setupReport,
      compiled: options.compiled,
      nodeFlags: options.nodeFlags,
      mallocArenaMax: options.mallocArenaMax,
      heapSnapshots: snapshots,
      generators: generators.map((g) => g.localAddress),
      concurrencyPerGenerator: options.concurrency,
      settleMs: options.settleMs,
      baseline: { rssBytes: baseline.rssBytes, heapUsedBytes: baseline.heapUsedBytes },
      counts: rows,
      fit: {
        rssBytesPerConnection: Math.round(rssFit.slope),
        rssInterceptBytes: Math.round(rssFit.intercept),
        rssR2: Math.round(rssFit.r2 * 10_000) / 10_000,
        heapBytesPerConnection: Math.round(heapFit.slope),
        heapR2: Math.round(heapFit.r2 * 10_000) / 10_000,
        nativeBytesPerConnection: Math.round(nativeFit.slope),
        nativeR2: Math.round(nativeFit.r2 * 10_000) / 10_000,
      },
      projection: {
        connections: 100_000,
        rssBytes: Math.round(projected100kBytes),
        targetBytes: GIB,
        withinTarget: projected100kBytes <= GIB,
      },
      targetBytesPerConnection: TARGET_BYTES_PER_CONNECTION,
      limitBytesPerConnection: limitBytes,
      withinLimit: rssFit.slope <= limitBytes,
      machine,
      loadAverageAtEnd,
      notes,
    };
    const header = [
      'count',
      'held',
      'gateway',
      'bcast subs',
      'conn/s',
      'rss',
      'rss/conn',
      'heap',
      'heap/conn',
      'load1',
    ];
    const table = [
      header,
      ...rows.map((r) => [
        String(r['target']),
        String(r['held']),
        String(r['gatewayConnections']),
        String(r['broadcastSubscriptions']),
        String(r['connectsPerSecond']),
        formatBytes(r['rssBytes']!),
        formatBytes(r['rssPerConnectionBytes']!),
        formatBytes(r['heapUsedBytes']!),
        formatBytes(r['heapPerConnectionBytes']!),
        String(r['loadAverage1m']),
      ]),
    ];
    const widths = header.map((_, c) => Math.max(...table.map((line) => line[c]!.length)));
    process.stdout.write(
      `\n${table.map((line) => line.map((cell, c) => cell.padStart(widths[c]!)).join('  ')).join('\n')}\n\n`,
    );
    process.stdout.write(
      `${renderTwoColumns([
        ['baseline', `rss ${formatBytes(baseline.rssBytes)}, heap ${formatBytes(baseline.heapUsedBytes)}`],
        [
          'rss slope',
          `${formatBytes(rssFit.slope)} per connection (r² ${rssFit.r2.toFixed(4)}), ${membership ? `limit with memberships ≤ ${formatBytes(limitBytes)} (${options.target}), aim 2 KiB` : 'target ≤ 2 KiB'}`,
        ],
        ['heap slope', `${formatBytes(heapFit.slope)} per connection (r² ${heapFit.r2.toFixed(4)})`],
        [
          'native slope',
          `${formatBytes(nativeFit.slope)} per connection (RSS − V8 heap total; r² ${nativeFit.r2.toFixed(4)})`,
        ],
        [
          '100K projection',
          `${formatBytes(projected100kBytes)} rss (${projected100kBytes <= GIB ? 'within' : 'over'} the 1 GiB target)`,
        ],
        ...machineRows(machine, loadAverageAtEnd),
      ])}\n`,
    );
    const name = `gateway-density${options.target === 'stack' ? '-stack' : ''}${membership ? `-members${options.groupSize}` : ''}${options.mallocArenaMax === null ? '' : `-arenas${options.mallocArenaMax}`}`;
    const path = await writeResult(options.resultsDir, startedAt, name, result);
    process.stdout.write(`result: ${path}\n`);
  } finally {
    await Promise.all(
      generators.map(async (generator) => {
        const exited = new Promise((done) => generator.child.once('exit', done));
        if (generator.child.connected) generator.child.send({ type: 'close' });
        const timer = setTimeout(() => generator.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await gateway.stop();
  }
}

await main();
