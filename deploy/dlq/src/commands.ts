import type { Bus, RecordMetadata } from '@chatmesh/bus';
import type { SchemaCodec } from '@chatmesh/schemas';
import {
  NOTICE_CODE,
  NOTICE_TWIN,
  formatPosition,
  listTwins,
  readDeadLetters,
  requireTwin,
  type DeadLetterEntry,
} from './dead-letters.js';
import { DlqError } from './errors.js';
import { ensureMarkerTopic, writeMarker, type ReplayMarker } from './markers.js';

/** Header added to every replayed record: `<twin>/<offset>` it came from. */
export const REPLAYED_FROM_HEADER = 'x-chatmesh-replayed-from';

/** What the commands work with. */
export interface DlqContext {
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  /** How long reading the twins may take. */
  readonly timeoutMs: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Deletes a throwaway reader group once read (Kafka); the memory bus needs none. */
  readonly forgetGroup?: (groupId: string) => Promise<void>;
}

/** Filters of `list`. */
export interface ListOptions {
  /** One twin; all by default. */
  readonly topic?: string;
  /** Only dead letters parked at or after this time (epoch ms). */
  readonly sinceMs?: number;
  readonly code?: string;
  /** Keep the last `limit` matches (the newest of each twin come last). */
  readonly limit: number;
}

/** What `list` found. */
export interface ListResult {
  readonly twins: readonly string[];
  readonly entries: readonly DeadLetterEntry[];
  /** Matches before `limit` cut them. */
  readonly matched: number;
}

/** Reads the twins (all or one) and filters their dead letters. */
export async function listDeadLetters(context: DlqContext, options: ListOptions): Promise<ListResult> {
  const { bus, codec } = context;
  let twins: string[];
  if (options.topic === undefined) {
    twins = await listTwins(bus);
  } else {
    await requireTwin(bus, options.topic);
    twins = [options.topic];
  }
  const all = await readDeadLetters(bus, codec, twins, readOptions(context));
  const filtered = all.filter((entry) => {
    if (options.code === undefined && options.sinceMs === undefined) return true;
    if (entry.envelope === null) return false;
    if (options.code !== undefined && entry.envelope.errorCode !== options.code) return false;
    return options.sinceMs === undefined || entry.envelope.failedAtMs >= options.sinceMs;
  });
  return { twins, entries: filtered.slice(Math.max(0, filtered.length - options.limit)), matched: filtered.length };
}

/**
 * The dead letter at one position of a twin.
 * @throws DlqError `CM_ERR_DLQ_NOT_A_TWIN`, `CM_ERR_DLQ_NOT_FOUND`
 */
export async function showDeadLetter(
  context: DlqContext,
  twin: string,
  position: { partition: number; offset: string },
): Promise<DeadLetterEntry> {
  await requireTwin(context.bus, twin);
  const entries = await readDeadLetters(context.bus, context.codec, [twin], readOptions(context));
  const entry = entries.find(
    (candidate) => candidate.partition === position.partition && candidate.offset === position.offset,
  );
  if (entry === undefined) {
    throw new DlqError('CM_ERR_DLQ_NOT_FOUND', `${twin} holds no record at offset ${formatPosition(position)}`, {
      context: { topic: twin, ...position },
    });
  }
  return entry;
}

/** Selection and switches of `replay`. */
export interface ReplayOptions {
  readonly code?: string;
  readonly key?: string;
  readonly partition?: number;
  readonly fromOffset?: bigint;
  readonly toOffset?: bigint;
  readonly dryRun: boolean;
  /** Replay receipts' FAILED notices too. */
  readonly force: boolean;
  /**
   * Asked once before anything is produced (not for a dry run); resolving false cancels.
   * Absent: the caller already confirmed (`--yes`).
   */
  readonly confirm?: (summary: string) => Promise<boolean>;
  /** Told each outcome as it happens (so a failure half-way still leaves a record of what was done). */
  readonly onOutcome?: (outcome: ReplayOutcome) => void;
}

/** What happened to one selected dead letter. */
export type ReplayOutcome =
  | { readonly status: 'replayed'; readonly entry: DeadLetterEntry; readonly to: RecordMetadata }
  | { readonly status: 'would-replay'; readonly entry: DeadLetterEntry }
  | {
      readonly status: 'refused';
      readonly entry: DeadLetterEntry;
      readonly code:
        | 'CM_ERR_DLQ_ALREADY_REPLAYED'
        | 'CM_ERR_DLQ_NOTICE_NOT_REPLAYABLE'
        | 'CM_ERR_DLQ_NOTHING_TO_REPLAY'
        | 'CM_ERR_DLQ_BAD_ENVELOPE';
      readonly reason: string;
    };

/** What `replay` did, in offset order. */
export interface ReplayResult {
  readonly twin: string;
  readonly outcomes: readonly ReplayOutcome[];
  readonly cancelled: boolean;
}

/**
 * Re-produces the selected dead letters of one twin to their original topics, in offset order: the
 * original value bytes untouched, the original key and headers plus {@link REPLAYED_FROM_HEADER}.
 * Each replay is remembered in the twin's marker topic right after it is produced, and a marked offset
 * is refused (a crash between the two leaves the record unmarked: replaying it again is then harmless
 * because every service is idempotent). Receipts' FAILED notices are refused unless `force`.
 * @throws DlqError `CM_ERR_DLQ_NOT_A_TWIN`; `CM_ERR_DLQ_NOT_FOUND` when the selection is empty.
 */
export async function replayDeadLetters(
  context: DlqContext,
  twin: string,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const { bus, codec } = context;
  const now = context.now ?? Date.now;
  await requireTwin(bus, twin);
  const entries = await readDeadLetters(bus, codec, [twin], readOptions(context));
  const selected = entries.filter((entry) => {
    const offset = BigInt(entry.offset);
    if (options.partition !== undefined && entry.partition !== options.partition) return false;
    if (options.fromOffset !== undefined && offset < options.fromOffset) return false;
    if (options.toOffset !== undefined && offset > options.toOffset) return false;
    if (options.code === undefined && options.key === undefined) return true;
    if (entry.envelope === null) return false;
    if (options.code !== undefined && entry.envelope.errorCode !== options.code) return false;
    return options.key === undefined || entry.envelope.originalKey === options.key;
  });
  if (selected.length === 0) {
    throw new DlqError('CM_ERR_DLQ_NOT_FOUND', `no dead letter of ${twin} matches the selection`, {
      context: { topic: twin },
    });
  }

  const refusals = new Map<DeadLetterEntry, ReplayOutcome>();
  for (const entry of selected) {
    const refusal = refusalOf(twin, entry, options.force);
    if (refusal !== null) refusals.set(entry, { status: 'refused', entry, ...refusal });
  }
  const candidates = selected.filter((entry) => !refusals.has(entry));

  if (candidates.length > 0 && !options.dryRun && options.confirm !== undefined) {
    const targets = [...new Set(candidates.map((entry) => entry.envelope!.originalTopic))].join(', ');
    const ok = await options.confirm(`Replay ${candidates.length} dead letter(s) of ${twin} to ${targets}?`);
    if (!ok) return { twin, outcomes: [], cancelled: true };
  }
  if (candidates.length > 0 && !options.dryRun) await ensureMarkerTopic(bus, twin);

  const outcomes: ReplayOutcome[] = [];
  for (const entry of selected) {
    let outcome = refusals.get(entry);
    if (outcome === undefined) {
      outcome = options.dryRun
        ? { status: 'would-replay', entry }
        : { status: 'replayed', entry, to: await replayOne(bus, twin, entry, now) };
    }
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  }
  return { twin, outcomes, cancelled: false };
}

function refusalOf(
  twin: string,
  entry: DeadLetterEntry,
  force: boolean,
): Pick<Extract<ReplayOutcome, { status: 'refused' }>, 'code' | 'reason'> | null {
  const { envelope } = entry;
  if (envelope === null) {
    return {
      code: 'CM_ERR_DLQ_BAD_ENVELOPE',
      reason: `not a DeadLetter envelope (${entry.envelopeError ?? 'unknown'})`,
    };
  }
  if (entry.replayed !== null) {
    return {
      code: 'CM_ERR_DLQ_ALREADY_REPLAYED',
      reason: `replayed ${new Date(entry.replayed.replayedAtMs).toISOString()} to ${entry.replayed.to.topic}[${entry.replayed.to.partition}]@${entry.replayed.to.offset}`,
    };
  }
  if (twin === NOTICE_TWIN && envelope.errorCode === NOTICE_CODE && !force) {
    return {
      code: 'CM_ERR_DLQ_NOTICE_NOT_REPLAYABLE',
      reason: 'a FAILED notice of receipts, not a failed record (--force to replay anyway)',
    };
  }
  if (envelope.originalValue === null)
    return { code: 'CM_ERR_DLQ_NOTHING_TO_REPLAY', reason: 'the original value was null' };
  return null;
}

async function replayOne(bus: Bus, twin: string, entry: DeadLetterEntry, now: () => number): Promise<RecordMetadata> {
  const envelope = entry.envelope!;
  const position = formatPosition(entry);
  const [to] = await bus.producer.send(envelope.originalTopic, [
    {
      key: envelope.originalKey,
      value: envelope.originalValue,
      headers: { ...envelope.originalHeaders, [REPLAYED_FROM_HEADER]: `${twin}/${position}` },
    },
  ]);
  if (to === undefined) {
    throw new DlqError('CM_ERR_COMMON_INTERNAL', `the bus returned no metadata for the replay of ${twin}/${position}`);
  }
  const marker: ReplayMarker = {
    twin,
    partition: entry.partition,
    offset: entry.offset,
    replayedAtMs: now(),
    to: { topic: to.topic, partition: to.partition, offset: to.offset },
  };
  await writeMarker(bus, position, marker);
  return to;
}

function readOptions(context: DlqContext): { timeoutMs: number; forgetGroup?: (groupId: string) => Promise<void> } {
  return { timeoutMs: context.timeoutMs, ...(context.forgetGroup ? { forgetGroup: context.forgetGroup } : {}) };
}
