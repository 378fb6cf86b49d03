/** Command-line options of the k6 runner (`npm run bench:k6`), with defaults per target. */
import { parseArgs } from 'node:util';
import { BenchError } from '../src/index.js';

export const K6_SCENARIOS = ['steady', 'ramp', 'reconnect'] as const;
export type K6Scenario = (typeof K6_SCENARIOS)[number];

export const K6_USAGE =
  'usage: npm run bench:k6 -w @chatmesh/load-tests -- --target embedded|stack [--scenario steady|ramp|reconnect|all]\n' +
  '         [--pairs N (direct chats, 2 devices each)] [--rate-per-user N msg/s] [--seconds N] [--ramp-seconds N]\n' +
  '         [--reconnects N] [--reconnect-jitter-ms N] [--p95-ms N] [--p99-ms N] [--reconnect-p95-ms N]\n' +
  '         [--max-error-rate X] [--k6 PATH] [--ready-timeout-s N] [--results-dir DIR] [--note TEXT]';

export interface K6Options {
  readonly target: 'embedded' | 'stack';
  readonly scenarios: readonly K6Scenario[];
  readonly pairs: number;
  readonly ratePerUser: number;
  readonly seconds: number;
  readonly rampSeconds: number;
  readonly connectSeconds: number;
  readonly drainSeconds: number;
  readonly reconnects: number;
  readonly reconnectJitterMs: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly reconnectP95Ms: number;
  readonly maxErrorRate: number;
  readonly k6: string | undefined;
  readonly readyTimeoutS: number;
  readonly resultsDir: string;
  readonly note: string;
}

/**
 * Defaults per target: the stack's send path is ~100–160 msg/s on this 2-core box (README, send → deliver),
 * embedded mode takes 500 msg/s with half a core; the latency thresholds are what each should hold there.
 */
const DEFAULTS = {
  embedded: { pairs: 200, ratePerUser: 1, p95Ms: 250, p99Ms: 1000, reconnectP95Ms: 3000 },
  stack: { pairs: 100, ratePerUser: 0.5, p95Ms: 2000, p99Ms: 5000, reconnectP95Ms: 10000 },
} as const;

function invalid(message: string): never {
  throw new BenchError('CM_ERR_BENCH_INVALID_OPTIONS', `${message}\n${K6_USAGE}`, { context: { phase: 'options' } });
}

function numberOf(raw: string | undefined, option: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) invalid(`--${option} must be ${min}–${max}, got "${raw}"`);
  return value;
}

/** Parses argv. @throws BenchError CM_ERR_BENCH_INVALID_OPTIONS */
export function parseK6Options(argv: readonly string[], defaultResultsDir: string): K6Options | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      target: { type: 'string' },
      scenario: { type: 'string', default: 'all' },
      pairs: { type: 'string' },
      'rate-per-user': { type: 'string' },
      seconds: { type: 'string' },
      'ramp-seconds': { type: 'string' },
      'connect-seconds': { type: 'string' },
      'drain-seconds': { type: 'string' },
      reconnects: { type: 'string' },
      'reconnect-jitter-ms': { type: 'string' },
      'p95-ms': { type: 'string' },
      'p99-ms': { type: 'string' },
      'reconnect-p95-ms': { type: 'string' },
      'max-error-rate': { type: 'string' },
      k6: { type: 'string' },
      'ready-timeout-s': { type: 'string' },
      'results-dir': { type: 'string', default: defaultResultsDir },
      note: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const target = values.target;
  if (target !== 'embedded' && target !== 'stack') invalid('--target embedded|stack is required');
  const scenario = values.scenario;
  const scenarios: K6Scenario[] =
    scenario === 'all'
      ? [...K6_SCENARIOS]
      : (K6_SCENARIOS as readonly string[]).includes(scenario)
        ? [scenario as K6Scenario]
        : invalid(`--scenario must be one of ${K6_SCENARIOS.join(', ')} or all`);
  const defaults = DEFAULTS[target];
  const pairs = numberOf(values.pairs, 'pairs', 1, 4000, defaults.pairs);
  if (!Number.isInteger(pairs)) invalid('--pairs must be an integer');
  const reconnects = numberOf(values.reconnects, 'reconnects', 1, 20, 2);
  if (!Number.isInteger(reconnects)) invalid('--reconnects must be an integer');
  return {
    target,
    scenarios,
    pairs,
    // ingest allows a user 20 sends/s (burst 40): stay well inside it
    ratePerUser: numberOf(values['rate-per-user'], 'rate-per-user', 0.01, 10, defaults.ratePerUser),
    seconds: numberOf(values.seconds, 'seconds', 5, 600, 30),
    rampSeconds: numberOf(values['ramp-seconds'], 'ramp-seconds', 1, 600, 30),
    connectSeconds: numberOf(values['connect-seconds'], 'connect-seconds', 1, 300, 10),
    drainSeconds: numberOf(values['drain-seconds'], 'drain-seconds', 1, 300, 10),
    reconnects,
    reconnectJitterMs: numberOf(values['reconnect-jitter-ms'], 'reconnect-jitter-ms', 0, 60_000, 0),
    p95Ms: numberOf(values['p95-ms'], 'p95-ms', 1, 600_000, defaults.p95Ms),
    p99Ms: numberOf(values['p99-ms'], 'p99-ms', 1, 600_000, defaults.p99Ms),
    reconnectP95Ms: numberOf(values['reconnect-p95-ms'], 'reconnect-p95-ms', 1, 600_000, defaults.reconnectP95Ms),
    maxErrorRate: numberOf(values['max-error-rate'], 'max-error-rate', 0, 1, 0.01),
    k6: values.k6,
    readyTimeoutS: numberOf(values['ready-timeout-s'], 'ready-timeout-s', 10, 1800, 180),
    resultsDir: values['results-dir'],
    note: values.note,
  };
}

/** The upper bound of one scenario's k6 run, in seconds (k6 is killed past it plus a margin). */
export function scenarioSeconds(options: K6Options, scenario: K6Scenario): number {
  if (scenario === 'ramp') return options.rampSeconds + options.seconds + 30;
  return options.connectSeconds + options.seconds + options.drainSeconds + 30;
}
