import { formatPosition, type DeadLetterEntry } from './dead-letters.js';
import type { ListResult, ReplayOutcome, ReplayResult } from './commands.js';

const PREVIEW_CHARS = 60;

/** A value as JSON text: Buffers as `{ "$bytes": <base64> }`, bigints as strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, jsonReplacer, indent);
}

function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (Buffer.isBuffer(raw)) return { $bytes: raw.toString('base64') };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** The JSON shape of one dead letter (`list --json`, `show`). */
export function entryToJson(entry: DeadLetterEntry): Record<string, unknown> {
  const { envelope } = entry;
  return {
    twin: entry.twin,
    partition: entry.partition,
    offset: entry.offset,
    envelope:
      envelope === null
        ? null
        : {
            ...envelope,
            originalValue:
              envelope.originalValue === null
                ? null
                : { bytes: envelope.originalValue.length, base64: envelope.originalValue.toString('base64') },
            originalTimestamp: new Date(envelope.originalTimestampMs).toISOString(),
            failedAt: new Date(envelope.failedAtMs).toISOString(),
          },
    envelopeError: entry.envelopeError,
    value: entry.value,
    valueSchemaId: entry.valueSchemaId,
    valueError: entry.valueError,
    replayed:
      entry.replayed === null
        ? null
        : { ...entry.replayed, replayedAt: new Date(entry.replayed.replayedAtMs).toISOString() },
  };
}

/** The decoded original value in one short line, or its size when it did not decode. */
export function previewOf(entry: DeadLetterEntry): string {
  if (entry.envelope === null) return `(not a DeadLetter: ${entry.envelopeError ?? ''})`;
  const bytes = entry.envelope.originalValue;
  if (bytes === null) return '(null value)';
  if (entry.valueError !== null) return `(${bytes.length} bytes, undecodable)`;
  const text = toJson(entry.value);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

/** `list` as a table. */
export function renderList(result: ListResult): string {
  if (result.entries.length === 0) {
    return result.twins.length === 0
      ? 'No dead-letter twin exists on this cluster.\n'
      : `No dead letters in ${result.twins.length} twin(s) match.\n`;
  }
  const header = ['TWIN', 'AT', 'ORIGINAL', 'KEY', 'GROUP', 'CODE', 'ATTEMPTS', 'FAILED AT', 'REPLAYED', 'VALUE'];
  const rows = result.entries.map((entry) => {
    const e = entry.envelope;
    return [
      entry.twin,
      formatPosition(entry),
      e === null ? '?' : `${e.originalTopic}[${e.originalPartition}]@${e.originalOffset}`,
      e?.originalKey ?? '',
      e?.groupId ?? '',
      e?.errorCode ?? 'CM_ERR_DLQ_BAD_ENVELOPE',
      e === null ? '' : String(e.attempts),
      e === null ? '' : new Date(e.failedAtMs).toISOString(),
      entry.replayed === null ? '' : 'yes',
      previewOf(entry),
    ];
  });
  let text = table([header, ...rows]);
  if (result.matched > result.entries.length) {
    text += `(the last ${result.entries.length} of ${result.matched} matching dead letters; raise --limit to see more)\n`;
  }
  return text;
}

/** One line per replay outcome. */
export function renderOutcome(outcome: ReplayOutcome): string {
  const at = `${outcome.entry.twin}/${formatPosition(outcome.entry)}`;
  switch (outcome.status) {
    case 'replayed':
      return `replayed ${at} -> ${outcome.to.topic}[${outcome.to.partition}]@${outcome.to.offset}\n`;
    case 'would-replay':
      return `would replay ${at} -> ${outcome.entry.envelope!.originalTopic} (key ${outcome.entry.envelope!.originalKey ?? 'none'})\n`;
    case 'refused':
      return `refused ${at}: [${outcome.code}] ${outcome.reason}\n`;
  }
}

/** The closing line of `replay`. */
export function renderReplaySummary(result: ReplayResult, dryRun: boolean): string {
  if (result.cancelled) return 'Cancelled: nothing was replayed.\n';
  const count = (status: ReplayOutcome['status']) => result.outcomes.filter((o) => o.status === status).length;
  const done = dryRun
    ? `${count('would-replay')} would be replayed (dry run, nothing sent)`
    : `${count('replayed')} replayed`;
  return `${result.twin}: ${done}, ${count('refused')} refused.\n`;
}

/** The JSON shape of a replay outcome (`replay --json`). */
export function outcomeToJson(outcome: ReplayOutcome): Record<string, unknown> {
  const base = {
    twin: outcome.entry.twin,
    partition: outcome.entry.partition,
    offset: outcome.entry.offset,
    status: outcome.status,
  };
  if (outcome.status === 'replayed') return { ...base, to: outcome.to };
  if (outcome.status === 'refused') return { ...base, code: outcome.code, reason: outcome.reason };
  return { ...base, to: { topic: outcome.entry.envelope!.originalTopic } };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}
