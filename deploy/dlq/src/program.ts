import { createKafkaBus, createNamespacedBus, namespacedName, type Bus } from '@chatmesh/bus';
import { ConfigError, type EnvMap } from '@chatmesh/config';
import { ChatmeshError, ERROR_CODES } from '@chatmesh/errors';
import { createRegistryCodec, type SchemaCodec } from '@chatmesh/schemas';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import kafkajs from 'kafkajs';
import { listDeadLetters, replayDeadLetters, showDeadLetter, type DlqContext, type ReplayOutcome } from './commands.js';
import { loadDlqConfig } from './config.js';
import { parsePosition } from './dead-letters.js';
import { DlqError } from './errors.js';
import { entryToJson, outcomeToJson, renderList, renderOutcome, renderReplaySummary, toJson } from './format.js';

/** The tool's exit codes. */
export const EXIT_CODES = Object.freeze({
  /** Done; every selected record was handled. */
  ok: 0,
  /** Kafka or the registry failed, or another unexpected error. */
  failed: 1,
  /** Bad command line or configuration, or a replay that needs `--yes`. */
  usage: 2,
  /** A replay refused some selected records (already replayed, notices, null values, bad envelopes). */
  refused: 3,
  /** No such twin, offset, or no record matches the selection. */
  notFound: 4,
});

/** How long reading the twins may take by default (a throwaway group must join first on Kafka). */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Rows `list` prints by default. */
export const DEFAULT_LIST_LIMIT = 100;

/** A connection the commands use. */
export interface DlqConnection {
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  /** Deletes a throwaway reader group once read. @default none (the memory bus needs none) */
  readonly forgetGroup?: (groupId: string) => Promise<void>;
  close(): Promise<void>;
}

/** What {@link runDlqCli} needs from the outside; tests pass an in-process bus and codec. */
export interface DlqCliDeps {
  /** @default process.env */
  readonly env?: EnvMap;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Opens the bus and codec. @default Kafka and the registry from KAFKA_BROKERS and SCHEMA_REGISTRY_URL */
  readonly connect?: (env: EnvMap) => Promise<DlqConnection>;
  /** Asks the person at the terminal; absent when there is none, so a replay then needs `--yes`. */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Opens the Kafka bus and the registry codec of a stack. @throws ConfigError when the variables are missing or bad. */
export async function connectToStack(env: EnvMap): Promise<DlqConnection> {
  const config = loadDlqConfig(env);
  // Inside a namespace the tool sees the stack's logical names: `list` shows `push.requests.dlq`, a replay goes to
  // the envelope's (logical) original topic, both under `<namespace>.` on the broker.
  const namespace = config.namespace ?? '';
  const bus = createNamespacedBus(
    createKafkaBus({ brokers: config.kafkaBrokers, clientId: 'chatmesh-dlq', logLevel: 'nothing' }),
    namespace,
  );
  const codec = createRegistryCodec({ url: config.schemaRegistryUrl, clientId: 'chatmesh-dlq' });
  // The bus has no group deletion (services never need it); a plain admin removes the reader groups.
  const admin = new kafkajs.Kafka({
    brokers: [...config.kafkaBrokers],
    clientId: 'chatmesh-dlq',
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  let adminConnected: Promise<void> | undefined;
  return {
    bus,
    codec,
    forgetGroup: async (groupId) => {
      adminConnected ??= admin.connect();
      await adminConnected;
      await admin.deleteGroups([namespace === '' ? groupId : namespacedName(namespace, groupId)]);
    },
    close: async () => {
      await bus.close();
      if (adminConnected !== undefined) await admin.disconnect();
    },
  };
}

/**
 * Runs one `dlq` command line (the words after `npm run dlq --`) and returns the exit code
 * ({@link EXIT_CODES}). Output goes to `stdout`, errors to `stderr` with their code and fix.
 */
export async function runDlqCli(argv: readonly string[], deps: DlqCliDeps): Promise<number> {
  const env = deps.env ?? process.env;
  const connect = deps.connect ?? connectToStack;
  const out = (text: string) => void deps.stdout.write(text);
  let exitCode: number = EXIT_CODES.ok;
  let connection: DlqConnection | undefined;

  const withContext = async <T>(timeoutMs: number, run: (context: DlqContext) => Promise<T>): Promise<T> => {
    connection ??= await connect(env);
    return run({
      bus: connection.bus,
      codec: connection.codec,
      timeoutMs,
      ...(deps.now ? { now: deps.now } : {}),
      ...(connection.forgetGroup ? { forgetGroup: connection.forgetGroup } : {}),
    });
  };

  const program = new Command('dlq')
    .description(
      'Inspect the dead-letter twins (<topic>.dlq) of a chatmesh stack and replay their records after a fix.\n' +
        'Reads KAFKA_BROKERS, SCHEMA_REGISTRY_URL and CHATMESH_NAMESPACE, like the services.',
    )
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (text) => void deps.stderr.write(text) })
    .showHelpAfterError('(add --help for usage)')
    .addOption(
      new Option('--timeout <ms>', 'give up reading the twins after this long')
        .argParser(integer(1, 3_600_000))
        .default(DEFAULT_TIMEOUT_MS),
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 Kafka/registry or unexpected failure, 2 bad usage or configuration (or a replay\n' +
        'without --yes and no terminal), 3 a replay refused some records, 4 no such twin, offset or match.\n' +
        'See docs/operations.md.',
    );
  const timeoutOf = (): number => program.opts<{ timeout: number }>().timeout;

  program
    .command('list')
    .description('list the dead letters of every twin (or one), oldest first, without moving any consumer group')
    .option('--topic <twin>', 'only this twin, e.g. chat.events.dlq')
    .option('--since <time>', 'only those parked since: ISO 8601, or 30m / 2h / 7d ago', (text) =>
      parseSince(text, deps.now ?? Date.now),
    )
    .option('--code <code>', 'only this error code, e.g. CM_ERR_SCHEMA_DECODE')
    .option('--limit <n>', 'print at most the last n matches', integer(1, 1_000_000), DEFAULT_LIST_LIMIT)
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: { topic?: string; since?: number; code?: string; limit: number; json?: boolean }) => {
      const result = await withContext(timeoutOf(), (context) =>
        listDeadLetters(context, {
          limit: options.limit,
          ...(options.topic === undefined ? {} : { topic: options.topic }),
          ...(options.since === undefined ? {} : { sinceMs: options.since }),
          ...(options.code === undefined ? {} : { code: options.code }),
        }),
      );
      out(options.json ? `${toJson(result.entries.map(entryToJson), 2)}\n` : renderList(result));
    });

  program
    .command('show')
    .description('print one dead letter as JSON: the whole envelope and the original value decoded')
    .argument('<twin>', 'the twin, e.g. chat.events.dlq')
    .argument('<offset>', 'its offset (or <partition>:<offset>)', positionArgument)
    .action(async (twin: string, position: { partition: number; offset: string }) => {
      const entry = await withContext(timeoutOf(), (context) => showDeadLetter(context, twin, position));
      out(`${toJson(entryToJson(entry), 2)}\n`);
      if (entry.envelope === null) {
        throw new DlqError(
          'CM_ERR_DLQ_BAD_ENVELOPE',
          `${twin}/${position.offset} is not a DeadLetter: ${entry.envelopeError ?? ''}`,
        );
      }
    });

  program
    .command('replay')
    .description(
      're-produce selected dead letters to their original topics, in offset order, each twin offset at most once',
    )
    .argument('<twin>', 'the twin, e.g. chat.events.dlq')
    .option('--code <code>', 'only this error code')
    .option('--key <key>', 'only records with this key (a chat or user id)')
    .option('--partition <n>', 'only this partition of the twin (twins have one: 0)', integer(0, 1_000_000))
    .option('--from-offset <n>', 'first offset to replay (inclusive)', bigintArgument)
    .option('--to-offset <n>', 'last offset to replay (inclusive)', bigintArgument)
    .option('--dry-run', 'print what would be replayed; send nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--force', `also replay receipts' FAILED notices (receipts.dlq, CM_ERR_RECEIPTS_UNDELIVERED)`)
    .option('--json', 'print a JSON array of outcomes instead of lines')
    .action(
      async (
        twin: string,
        options: {
          code?: string;
          key?: string;
          partition?: number;
          fromOffset?: bigint;
          toOffset?: bigint;
          dryRun?: boolean;
          yes?: boolean;
          force?: boolean;
          json?: boolean;
        },
      ) => {
        const dryRun = options.dryRun === true;
        if (!dryRun && options.yes !== true && deps.confirm === undefined) {
          throw new DlqError(
            'CM_ERR_DLQ_CONFIRMATION_REQUIRED',
            'replay sends records to live topics: run it with --dry-run first, then with --yes',
          );
        }
        const outcomes: ReplayOutcome[] = [];
        const result = await withContext(timeoutOf(), (context) =>
          replayDeadLetters(context, twin, {
            dryRun,
            force: options.force === true,
            ...(options.code === undefined ? {} : { code: options.code }),
            ...(options.key === undefined ? {} : { key: options.key }),
            ...(options.partition === undefined ? {} : { partition: options.partition }),
            ...(options.fromOffset === undefined ? {} : { fromOffset: options.fromOffset }),
            ...(options.toOffset === undefined ? {} : { toOffset: options.toOffset }),
            ...(dryRun || options.yes === true || deps.confirm === undefined ? {} : { confirm: deps.confirm }),
            onOutcome: (outcome) => {
              outcomes.push(outcome);
              if (options.json !== true) out(renderOutcome(outcome));
            },
          }),
        );
        out(options.json ? `${toJson(outcomes.map(outcomeToJson), 2)}\n` : renderReplaySummary(result, dryRun));
        if (outcomes.some((outcome) => outcome.status === 'refused')) exitCode = EXIT_CODES.refused;
      },
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed its message (or the help) already.
      return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code)
        ? EXIT_CODES.ok
        : EXIT_CODES.usage;
    }
    deps.stderr.write(`dlq: ${describeError(error)}\n`);
    return exitCodeOf(error);
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** The exit code of an error ({@link EXIT_CODES}). */
export function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return EXIT_CODES.usage;
  if (!(error instanceof ChatmeshError)) return EXIT_CODES.failed;
  switch (error.code) {
    case 'CM_ERR_DLQ_USAGE':
    case 'CM_ERR_DLQ_CONFIRMATION_REQUIRED':
      return EXIT_CODES.usage;
    case 'CM_ERR_DLQ_NOT_A_TWIN':
    case 'CM_ERR_DLQ_NOT_FOUND':
      return EXIT_CODES.notFound;
    case 'CM_ERR_DLQ_ALREADY_REPLAYED':
    case 'CM_ERR_DLQ_NOTICE_NOT_REPLAYABLE':
    case 'CM_ERR_DLQ_NOTHING_TO_REPLAY':
      return EXIT_CODES.refused;
    default:
      return EXIT_CODES.failed;
  }
}

function describeError(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof ChatmeshError) {
    const cause = error.cause instanceof Error ? `\n  caused by: ${error.cause.message}` : '';
    return `[${error.code}] ${error.message}${cause}\n  fix: ${ERROR_CODES[error.code].fix}`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer ${min}-${max}`);
    }
    return value;
  };
}

function bigintArgument(text: string): bigint {
  if (!/^\d{1,19}$/.test(text.trim())) throw new InvalidArgumentError('expected a decimal offset');
  return BigInt(text.trim());
}

function positionArgument(text: string): { partition: number; offset: string } {
  try {
    return parsePosition(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`: an ISO 8601 time, or an age (`90s`, `30m`, `2h`, `7d`) counted back from now.
 * @throws InvalidArgumentError for anything else (commander prints it and the tool exits 2).
 */
export function parseSince(text: string, now: () => number): number {
  const relative = /^(\d+)([smhd])$/.exec(text.trim());
  if (relative !== null) return now() - Number(relative[1]) * UNITS_MS[relative[2]!]!;
  const absolute = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim()) && Number.isFinite(absolute)) return absolute;
  throw new InvalidArgumentError('expected an ISO 8601 time (2026-11-23T17:00:00Z) or an age such as 30m, 2h, 7d');
}
