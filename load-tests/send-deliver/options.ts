/** Command-line options of the send → deliver benchmark, and the service limits a run needs raised. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchError } from '../src/index.js';
import type { Scenario } from './plan.js';

export const USAGE =
  'usage: npm run bench:send-deliver -w @chatmesh/load-tests -- --mode embedded|stack --scenario direct|group|catchup\n' +
  '         [--rate N msg/s] [--seconds N] [--messages N (catchup)] [--chats N] [--members N (group)]\n' +
  '         [--warmup-s N] [--drain-timeout-s N] [--late-ms N] [--workers N] [--gateways N (stack)]\n' +
  '         [--ack-interval-ms N] [--body-bytes N] [--connect-concurrency N] [--baseline]\n' +
  '         [--cpu-prof-dir DIR (embedded)] [--ready-timeout-s N] [--results-dir DIR] [--note TEXT]';

export interface SendDeliverOptions {
  readonly mode: 'embedded' | 'stack';
  readonly scenario: Scenario;
  /** Messages offered per second (catchup: while the device is offline). */
  readonly rate: number;
  /** Length of the schedule (direct, group); catchup's is messages ÷ rate. */
  readonly seconds: number;
  readonly messages: number;
  readonly chats: number;
  readonly members: number;
  readonly warmupS: number;
  readonly drainTimeoutS: number;
  /** A delivery later than this after its scheduled send counts as late. */
  readonly lateMs: number;
  readonly workers: number;
  readonly gateways: number;
  readonly ackIntervalMs: number;
  readonly bodyBytes: number;
  readonly connectConcurrency: number;
  readonly baseline: boolean;
  readonly readyTimeoutS: number;
  /** Embedded mode: a V8 CPU profile of the services' process, written here when it stops. */
  readonly cpuProfileDir: string | undefined;
  readonly resultsDir: string;
  readonly note: string;
}

function invalid(message: string): never {
  throw new BenchError('CM_ERR_BENCH_INVALID_OPTIONS', `${message}\n${USAGE}`, { context: { phase: 'options' } });
}

function integer(raw: string | undefined, option: string, min: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) invalid(`--${option} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

const DEFAULTS: Record<Scenario, { rate: number; seconds: number; chats: number }> = {
  direct: { rate: 500, seconds: 60, chats: 5000 },
  group: { rate: 20, seconds: 60, chats: 1 },
  catchup: { rate: 500, seconds: 0, chats: 100 },
};

/** Parses argv; `--help` prints the usage and exits. @throws BenchError CM_ERR_BENCH_INVALID_OPTIONS */
export function parseSendDeliverOptions(argv: readonly string[], defaultResultsDir: string): SendDeliverOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      mode: { type: 'string', default: 'embedded' },
      scenario: { type: 'string', default: 'direct' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      messages: { type: 'string' },
      chats: { type: 'string' },
      members: { type: 'string' },
      'warmup-s': { type: 'string' },
      'drain-timeout-s': { type: 'string' },
      'late-ms': { type: 'string' },
      workers: { type: 'string' },
      gateways: { type: 'string' },
      'ack-interval-ms': { type: 'string' },
      'body-bytes': { type: 'string' },
      'connect-concurrency': { type: 'string' },
      baseline: { type: 'boolean', default: false },
      'ready-timeout-s': { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
      'results-dir': { type: 'string' },
      note: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.mode !== 'embedded' && values.mode !== 'stack')
    invalid(`--mode must be embedded or stack, got "${values.mode}"`);
  const scenario = values.scenario;
  if (scenario !== 'direct' && scenario !== 'group' && scenario !== 'catchup')
    invalid(`--scenario must be direct, group or catchup, got "${scenario}" (density: load-tests/gateway/density.ts)`);
  const defaults = DEFAULTS[scenario];
  const rate = integer(values.rate, 'rate', 1, defaults.rate);
  const chats = integer(values.chats, 'chats', 1, defaults.chats);
  const members = integer(values.members, 'members', 2, scenario === 'group' ? 1024 : 2);
  if (members > 1024) invalid('--members may not exceed 1,024 (the group limit)');
  if (scenario !== 'group' && values.members !== undefined) invalid('--members is for --scenario group');
  let seconds: number;
  let messages: number;
  if (scenario === 'catchup') {
    if (values.seconds !== undefined)
      invalid('catchup takes --messages (and --rate for the offline phase), not --seconds');
    messages = integer(values.messages, 'messages', 1, 10_000);
    seconds = messages / rate;
  } else {
    if (values.messages !== undefined) invalid('--messages is for catchup; direct and group take --rate × --seconds');
    seconds = integer(values.seconds, 'seconds', 1, defaults.seconds);
    messages = rate * seconds;
  }
  const warmupS = integer(
    values['warmup-s'],
    'warmup-s',
    0,
    scenario === 'catchup' ? 0 : Math.min(5, Math.floor(seconds / 10)),
  );
  if (scenario !== 'catchup' && warmupS >= seconds) invalid('--warmup-s must be shorter than --seconds');
  const devices = scenario === 'direct' ? 2 * chats : scenario === 'group' ? chats * members : chats + 2;
  const gateways = integer(values.gateways, 'gateways', 1, 1);
  if (values.mode === 'stack' && values['cpu-prof-dir'] !== undefined)
    invalid('--cpu-prof-dir is for embedded mode (one process holds every service)');
  if (values.mode === 'embedded' && gateways !== 1) invalid('--gateways is for stack mode (embedded runs one gateway)');
  return {
    mode: values.mode,
    scenario,
    rate,
    seconds,
    messages,
    chats,
    members,
    warmupS,
    drainTimeoutS: integer(values['drain-timeout-s'], 'drain-timeout-s', 1, 30),
    lateMs: integer(values['late-ms'], 'late-ms', 1, 1000),
    workers: integer(values.workers, 'workers', 1, Math.min(4, Math.max(2, Math.ceil(devices / 2500)))),
    gateways,
    ackIntervalMs: integer(values['ack-interval-ms'], 'ack-interval-ms', 1, 50),
    bodyBytes: integer(values['body-bytes'], 'body-bytes', 1, 100),
    connectConcurrency: integer(values['connect-concurrency'], 'connect-concurrency', 1, 32),
    baseline: values.baseline,
    readyTimeoutS: integer(values['ready-timeout-s'], 'ready-timeout-s', 1, 240),
    cpuProfileDir: values['cpu-prof-dir'] === undefined ? undefined : resolve(values['cpu-prof-dir']),
    resultsDir: resolve(values['results-dir'] ?? defaultResultsDir),
    note: values.note,
  };
}

/** Service settings a run needs, and why (printed and stored with the result). */
export interface RaisedLimits {
  readonly env: Readonly<Record<string, string>>;
  readonly reasons: readonly string[];
}

/** The defaults of docs/configuration.md the benchmark may outgrow. */
export const DEFAULT_LIMITS = Object.freeze({
  ingestSendRatePerSecond: 20,
  gatewayConnectionRatePerSecond: 30,
  gatewayUserRatePerSecond: 60,
});

/**
 * Which rate limits to raise so that the benchmark measures the path, not the limiter: ingest's per-user
 * per-chat send bucket, and the gateway's per-connection and per-user frame buckets (sends plus acks).
 * A limit is raised (to 2× the need, bursts 4×) only when the need passes 80 % of the default.
 * @param sendsPerUserChat the highest messages per second one user sends in one chat
 * @param sendsPerDevice the highest messages per second one device sends (over all its chats)
 * @param receivesPerDevice the highest messages per second one device receives
 */
export function limitsFor(options: {
  sendsPerUserChat: number;
  sendsPerDevice: number;
  receivesPerDevice: number;
  ackIntervalMs: number;
}): RaisedLimits {
  const env: Record<string, string> = {};
  const reasons: string[] = [];
  const ingestNeed = options.sendsPerUserChat;
  if (ingestNeed > 0.8 * DEFAULT_LIMITS.ingestSendRatePerSecond) {
    env['CHATMESH_INGEST_SEND_RATE_PER_SECOND'] = String(Math.min(10_000, Math.ceil(2 * ingestNeed)));
    env['CHATMESH_INGEST_SEND_BURST'] = String(Math.min(100_000, Math.ceil(4 * ingestNeed)));
    reasons.push(
      `ingest's per-user per-chat send limit raised from ${DEFAULT_LIMITS.ingestSendRatePerSecond}/s to ${env['CHATMESH_INGEST_SEND_RATE_PER_SECOND']}/s: a sender sends ${round(ingestNeed)} msg/s in one chat`,
    );
  }
  const acksPerSecond = Math.min(1000 / options.ackIntervalMs, options.receivesPerDevice);
  const frameNeed = options.sendsPerDevice + acksPerSecond;
  if (frameNeed > 0.8 * DEFAULT_LIMITS.gatewayConnectionRatePerSecond) {
    const raised = Math.ceil(2 * frameNeed);
    env['CHATMESH_GATEWAY_CONNECTION_RATE_PER_SECOND'] = String(raised);
    env['CHATMESH_GATEWAY_CONNECTION_BURST'] = String(4 * raised);
    env['CHATMESH_GATEWAY_USER_RATE_PER_SECOND'] = String(Math.max(DEFAULT_LIMITS.gatewayUserRatePerSecond, raised));
    env['CHATMESH_GATEWAY_USER_BURST'] = String(4 * Math.max(DEFAULT_LIMITS.gatewayUserRatePerSecond, raised));
    reasons.push(
      `the gateway's frame limits raised from ${DEFAULT_LIMITS.gatewayConnectionRatePerSecond}/s per connection to ${raised}/s: a device sends ${round(options.sendsPerDevice)} msg/s and up to ${round(acksPerSecond)} acks/s`,
    );
  }
  return { env, reasons };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
