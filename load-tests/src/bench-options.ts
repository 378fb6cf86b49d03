import { parseArgs } from 'node:util';
import { BenchError } from './errors.js';

/** Where the services run: in this process on the memory bus, or as processes on real Kafka/Cassandra/Redis. */
export type BenchMode = 'embedded' | 'stack';
/** `direct`: many 1:1 chats; `group1024`: a few groups of 1,024 members. */
export type BenchScenario = 'direct' | 'group1024';
/** Whether every member has one device online (so fan-out routes to the driver's gateway) or none (push path). */
export type OnlineDevices = 'none' | 'all';

/** The options of the message-path benchmark, compiled (every default applied, every value checked). */
export interface MessagePathOptions {
  readonly mode: BenchMode;
  readonly scenario: BenchScenario;
  /** Measured sends, warm-up included. @default 2000 */
  readonly messages: number;
  /** The first sends, excluded from the rates and latencies. @default 10% of messages */
  readonly warmupMessages: number;
  /** Sends in flight at once (closed loop): each waits for its CommandResult. @default 64 */
  readonly concurrency: number;
  /** 1:1 chats of the direct scenario (two users each). @default 256 */
  readonly directChats: number;
  /** Groups of the group1024 scenario (1,024 members each). @default 2 */
  readonly groups: number;
  /** @default 'none' */
  readonly online: OnlineDevices;
  /** Plaintext body size of each message. @default 100 */
  readonly bodyBytes: number;
  /** Time limit of the send phase; sends stop there and the run is reported as cut short. @default 300 */
  readonly maxDurationS: number;
  /** Time limit for fan-out to append every expected inbox row after the last ack. @default 300 */
  readonly drainTimeoutS: number;
  /** Time limit of one command's answer. @default 60000 */
  readonly ackTimeoutMs: number;
  /** Time limit for stack services to become ready. @default 180 */
  readonly readyTimeoutS: number;
  /** When set, CPU profiles (`.cpuprofile`) of the services are written there. @default undefined */
  readonly cpuProfileDir: string | undefined;
  /** Where the JSON result goes. @default `load-tests/results` */
  readonly resultsDir: string;
  /** Stack: keep the run's Cassandra keyspace (dropped by default). @default false */
  readonly keepKeyspace: boolean;
  /** Free text stored with the result (what else ran on the machine...). @default '' */
  readonly note: string;
}

/** The usage line printed by `--help` and with option errors. */
export const MESSAGE_PATH_USAGE = [
  'usage: npm run bench:message-path -w @chatmesh/load-tests -- --mode embedded|stack --scenario direct|group1024',
  '         [--messages N] [--warmup N] [--concurrency N] [--chats N] [--groups N] [--online none|all]',
  '         [--body-bytes N] [--max-duration-s N] [--drain-timeout-s N] [--ack-timeout-ms N] [--ready-timeout-s N]',
  '         [--cpu-prof-dir DIR] [--results-dir DIR] [--keep-keyspace] [--note TEXT]',
].join('\n');

function invalid(message: string, option: string): never {
  throw new BenchError('CM_ERR_BENCH_INVALID_OPTIONS', `${message}\n${MESSAGE_PATH_USAGE}`, {
    context: { phase: 'options', option },
  });
}

function integer(raw: string | undefined, option: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) invalid(`--${option} must be an integer, got "${raw}"`, option);
  const value = Number(raw);
  if (value < min || value > max) invalid(`--${option} must be ${min}-${max}, got ${value}`, option);
  return value;
}

function choice<T extends string>(raw: string | undefined, option: string, allowed: readonly T[], fallback?: T): T {
  if (raw === undefined) {
    if (fallback === undefined) invalid(`--${option} is required (${allowed.join(' or ')})`, option);
    return fallback;
  }
  if (!(allowed as readonly string[]).includes(raw))
    invalid(`--${option} must be ${allowed.join(' or ')}, got "${raw}"`, option);
  return raw as T;
}

/**
 * Parses and checks the benchmark's command line.
 * @returns null when `--help` was asked (the caller prints {@link MESSAGE_PATH_USAGE})
 * @throws BenchError `CM_ERR_BENCH_INVALID_OPTIONS` naming the bad option, with the usage
 */
export function parseMessagePathOptions(
  argv: readonly string[],
  defaults: { resultsDir: string },
): MessagePathOptions | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        mode: { type: 'string' },
        scenario: { type: 'string' },
        messages: { type: 'string' },
        warmup: { type: 'string' },
        concurrency: { type: 'string' },
        chats: { type: 'string' },
        groups: { type: 'string' },
        online: { type: 'string' },
        'body-bytes': { type: 'string' },
        'max-duration-s': { type: 'string' },
        'drain-timeout-s': { type: 'string' },
        'ack-timeout-ms': { type: 'string' },
        'ready-timeout-s': { type: 'string' },
        'cpu-prof-dir': { type: 'string' },
        'results-dir': { type: 'string' },
        'keep-keyspace': { type: 'boolean', default: false },
        note: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    invalid(error instanceof Error ? error.message : String(error), 'argv');
  }
  if (values.help === true) return null;
  const str = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const messages = integer(str('messages'), 'messages', 2000, 1, 10_000_000);
  const warmupMessages = integer(str('warmup'), 'warmup', Math.ceil(messages / 10), 0, messages - 1);
  return {
    mode: choice(str('mode'), 'mode', ['embedded', 'stack'] as const),
    scenario: choice(str('scenario'), 'scenario', ['direct', 'group1024'] as const),
    messages,
    warmupMessages,
    concurrency: integer(str('concurrency'), 'concurrency', 64, 1, 10_000),
    directChats: integer(str('chats'), 'chats', 256, 1, 1_000_000),
    groups: integer(str('groups'), 'groups', 2, 1, 1_000),
    online: choice(str('online'), 'online', ['none', 'all'] as const, 'none'),
    bodyBytes: integer(str('body-bytes'), 'body-bytes', 100, 1, 64 * 1024),
    maxDurationS: integer(str('max-duration-s'), 'max-duration-s', 300, 1, 86_400),
    drainTimeoutS: integer(str('drain-timeout-s'), 'drain-timeout-s', 300, 1, 86_400),
    ackTimeoutMs: integer(str('ack-timeout-ms'), 'ack-timeout-ms', 60_000, 100, 3_600_000),
    readyTimeoutS: integer(str('ready-timeout-s'), 'ready-timeout-s', 180, 1, 3_600),
    cpuProfileDir: str('cpu-prof-dir'),
    resultsDir: str('results-dir') ?? defaults.resultsDir,
    keepKeyspace: values['keep-keyspace'] === true,
    note: str('note') ?? '',
  };
}
