/**
 * Gateway connection density (issue 6): how many bytes of gateway memory one idle, authenticated
 * WebSocket costs. The gateway runs in its own process (`npm start`'s embedded launcher, memory bus,
 * store and presence); several generator processes open N connections from their own 127.0.0.x source
 * addresses and hold them; at each count the gateway's RSS (`/proc/<pid>/status`) and heap are read, and
 * the bytes per additional connection are fitted by least squares over the counts.
 *
 * `npm run bench:gateway-density -w @chatmesh/load-tests -- --counts 1000,5000,10000,18000`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { BenchError, readMachineInfo } from '../src/index.js';
import { readMetrics, readProcessMemory, REPO_ROOT, startEmbeddedProcess } from './embedded-process.js';
import { fitLine, formatBytes, machineRows, renderTwoColumns, writeResult } from './gateway-report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Sockets one generator process holds at most (its open files limit is 20,000 here). */
const MAX_PER_GENERATOR = 19_000;
const TARGET_BYTES_PER_CONNECTION = 2048;
const GIB = 1024 ** 3;

const USAGE =
  'usage: npm run bench:gateway-density -w @chatmesh/load-tests -- [--counts 1000,5000,10000,18000] [--generators N]\n' +
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
      services: { type: 'string', default: 'delivery-gateway' },
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
  return {
    counts,
    generators,
    concurrency,
    settleMs,
    services: values.services,
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

async function startGenerator(index: number, wsUrl: string, concurrency: number): Promise<Generator> {
  const localAddress = `127.0.0.${index + 2}`;
  const entry = join(HERE, 'density-generator.ts');
  const child = spawn('bash', ['-c', `ulimit -n 20000 && exec node --import tsx ${JSON.stringify(entry)}`], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      CHATMESH_BENCH_GENERATOR: JSON.stringify({
        wsUrl,
        localAddress,
        issuer: 'chatmesh-dev',
        audience: 'chatmesh',
        concurrency,
        connectTimeoutMs: 60_000,
        userPrefix: `g${index}u`,
      }),
    },
  });
  const waiters = new Map<string, (message: Record<string, unknown>) => void>();
  child.on('message', (message: Record<string, unknown>) => {
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
}

async function sample(pid: number, url: string): Promise<Sample> {
  process.kill(pid, 'SIGUSR2'); // a full GC in the gateway (gc-on-signal.ts)
  await sleep(500);
  const memory = await readProcessMemory(pid);
  const metrics = await readMetrics(url, [
    'chatmesh_gateway_connections_open',
    'nodejs_heap_size_used_bytes',
    'nodejs_heap_size_total_bytes',
  ]);
  return {
    rssBytes: memory.rssBytes,
    heapUsedBytes: metrics['nodejs_heap_size_used_bytes'] ?? Number.NaN,
    heapTotalBytes: metrics['nodejs_heap_size_total_bytes'] ?? Number.NaN,
    connections: metrics['chatmesh_gateway_connections_open'] ?? Number.NaN,
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
  process.stdout.write(`starting the embedded gateway process (logs in ${logDir})...\n`);
  if (options.heapSnapshotDir !== null) mkdirSync(options.heapSnapshotDir, { recursive: true });
  const gateway = await startEmbeddedProcess({
    logDir,
    gcOnSignal: true,
    compiled: options.compiled,
    nodeFlags: options.nodeFlags,
    env: {
      CHATMESH_SERVICES: options.services,
      ...(options.heapSnapshotDir === null ? {} : { CHATMESH_BENCH_HEAP_SNAPSHOT_DIR: options.heapSnapshotDir }),
    },
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
  const wsUrl = `${gateway.gatewayUrl.replace(/^http/, 'ws')}/v1/ws`;
  const generators: Generator[] = [];
  const rows: Array<Record<string, number>> = [];
  const notes: string[] = [];
  if (options.note) notes.push(options.note);
  try {
    for (let i = 0; i < options.generators; i++) {
      const generator = await startGenerator(i, wsUrl, options.concurrency);
      generators.push(Object.assign(generator, { base: 0 }));
    }
    const baseline = await settledSample(gateway.pid, gateway.gatewayUrl, options.settleMs);
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
      if (failed > 0) notes.push(`count ${target}: ${failed} connections failed (first: ${String(firstError)})`);
      const measured = await settledSample(gateway.pid, gateway.gatewayUrl, options.settleMs);
      await snapshot();
      const row = {
        target,
        held,
        gatewayConnections: measured.connections,
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
        `${target}: held ${held} (gateway says ${measured.connections}), ${row.connectsPerSecond} conn/s, ` +
          `rss ${formatBytes(row.rssBytes)} (${formatBytes(row.rssPerConnectionBytes)}/conn), heap ${formatBytes(row.heapUsedBytes)} (${formatBytes(row.heapPerConnectionBytes)}/conn)\n`,
      );
    }
    const rssFit = fitLine(rows.map((r) => ({ x: r['gatewayConnections']!, y: r['rssBytes']! })));
    const heapFit = fitLine(rows.map((r) => ({ x: r['gatewayConnections']!, y: r['heapUsedBytes']! })));
    const projected100kBytes = rssFit.intercept + rssFit.slope * 100_000;
    const loadAverageAtEnd = loadavg().map((v) => Math.round(v * 100) / 100);
    const result = {
      benchmark: 'gateway-density',
      startedAt,
      gatewayProcess: `npm start launcher, embedded (memory bus/store/presence, local codec), CHATMESH_SERVICES=${options.services}, ${options.compiled ? 'compiled (esbuild bundle, no keepNames, plain node)' : 'TypeScript sources through tsx'}`,
      compiled: options.compiled,
      nodeFlags: options.nodeFlags,
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
      },
      projection: {
        connections: 100_000,
        rssBytes: Math.round(projected100kBytes),
        targetBytes: GIB,
        withinTarget: projected100kBytes <= GIB,
      },
      targetBytesPerConnection: TARGET_BYTES_PER_CONNECTION,
      machine,
      loadAverageAtEnd,
      notes,
    };
    const header = ['count', 'held', 'gateway', 'conn/s', 'rss', 'rss/conn', 'heap', 'heap/conn', 'load1'];
    const table = [
      header,
      ...rows.map((r) => [
        String(r['target']),
        String(r['held']),
        String(r['gatewayConnections']),
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
        ['rss slope', `${formatBytes(rssFit.slope)} per connection (r² ${rssFit.r2.toFixed(4)}), target ≤ 2 KiB`],
        ['heap slope', `${formatBytes(heapFit.slope)} per connection (r² ${heapFit.r2.toFixed(4)})`],
        [
          '100K projection',
          `${formatBytes(projected100kBytes)} rss (${projected100kBytes <= GIB ? 'within' : 'over'} the 1 GiB target)`,
        ],
        ...machineRows(machine, loadAverageAtEnd),
      ])}\n`,
    );
    const path = await writeResult(options.resultsDir, startedAt, 'gateway-density', result);
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
