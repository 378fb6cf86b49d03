import type { Bus, BusRecord } from '@chatmesh/bus';
import { isChatmeshError } from '@chatmesh/errors';
import { DEAD_LETTER_SUFFIX, type DeadLetter, type SchemaCodec } from '@chatmesh/schemas';
import { DlqError } from './errors.js';
import { readReplayMarkers, type ReplayMarker } from './markers.js';
import { readToEnd } from './read-topics.js';

/** Receipts' FAILED notices: informational records on `receipts.dlq`, never replayed without `--force`. */
export const NOTICE_TWIN = 'receipts.dlq';
export const NOTICE_CODE = 'CM_ERR_RECEIPTS_UNDELIVERED';

/** Where a dead letter sits: its twin, partition and offset. */
export interface TwinPosition {
  readonly twin: string;
  readonly partition: number;
  readonly offset: string;
}

/** One record of a twin, decoded as far as possible. */
export interface DeadLetterEntry extends TwinPosition {
  /** The envelope, or null when the twin record is not a readable DeadLetter (see `envelopeError`). */
  readonly envelope: DeadLetter | null;
  readonly envelopeError: string | null;
  /** The original value decoded with its writer's schema, when it decodes. */
  readonly value: unknown;
  readonly valueSchemaId: number | null;
  /** Why the original value did not decode (null value, unknown schema id, corrupt body...). */
  readonly valueError: string | null;
  /** The replay marker of this twin offset, when it was replayed. */
  readonly replayed: ReplayMarker | null;
}

/** `5` on partition 0 (twins have one partition), `2:5` elsewhere: how positions are printed and typed. */
export function formatPosition(position: Pick<TwinPosition, 'partition' | 'offset'>): string {
  return position.partition === 0 ? position.offset : `${position.partition}:${position.offset}`;
}

/**
 * Parses `<offset>` or `<partition>:<offset>`.
 * @throws DlqError `CM_ERR_DLQ_USAGE` for anything else.
 */
export function parsePosition(text: string): { partition: number; offset: string } {
  const match = /^(?:(\d{1,9}):)?(\d{1,19})$/.exec(text.trim());
  if (match === null) {
    throw new DlqError('CM_ERR_DLQ_USAGE', `"${text}" is not an offset: expected <offset> or <partition>:<offset>`, {
      context: { value: text },
    });
  }
  return { partition: Number(match[1] ?? 0), offset: BigInt(match[2]!).toString() };
}

/** Whether a topic name is a dead-letter twin. */
export function isTwin(topic: string): boolean {
  return topic.endsWith(DEAD_LETTER_SUFFIX);
}

/** Every twin on the cluster, sorted by name. */
export async function listTwins(bus: Bus): Promise<string[]> {
  return (await bus.admin.listTopics()).filter(isTwin).sort();
}

/**
 * Checks that `twin` names an existing dead-letter twin.
 * @throws DlqError `CM_ERR_DLQ_NOT_A_TWIN`
 */
export async function requireTwin(bus: Bus, twin: string): Promise<void> {
  if (!isTwin(twin)) {
    throw new DlqError(
      'CM_ERR_DLQ_NOT_A_TWIN',
      `${twin} is not a dead-letter twin: twins are named <topic>${DEAD_LETTER_SUFFIX}`,
      { context: { topic: twin } },
    );
  }
  if (!(await bus.admin.listTopics()).includes(twin)) {
    throw new DlqError('CM_ERR_DLQ_NOT_A_TWIN', `the twin ${twin} does not exist on this cluster`, {
      context: { topic: twin },
    });
  }
}

/** Options of {@link readDeadLetters}. */
export interface ReadDeadLettersOptions {
  readonly timeoutMs: number;
  /** Deletes the throwaway reader group afterwards (see {@link readToEnd}). */
  readonly forgetGroup?: (groupId: string) => Promise<void>;
}

/**
 * Reads the given twins to their end with their replay markers (one throwaway group for all) and
 * decodes each record: the envelope with the DeadLetter schema, the original value with its own
 * writer's schema through the codec. A record that does not decode is still returned, with the reason.
 */
export async function readDeadLetters(
  bus: Bus,
  codec: SchemaCodec,
  twins: readonly string[],
  options: ReadDeadLettersOptions,
): Promise<DeadLetterEntry[]> {
  if (twins.length === 0) return [];
  const { records, markers } = await readTwinsAndMarkers(bus, twins, options);
  const entries: DeadLetterEntry[] = [];
  for (const record of records) {
    entries.push(await decodeEntry(codec, record, markers.get(markerSlot(record.topic, record))?.[0] ?? null));
  }
  return entries;
}

async function readTwinsAndMarkers(
  bus: Bus,
  twins: readonly string[],
  options: ReadDeadLettersOptions,
): Promise<{ records: BusRecord[]; markers: Map<string, ReplayMarker[]> }> {
  const existing = new Set(await bus.admin.listTopics());
  const { markerTopics, parse } = readReplayMarkers(twins, existing);
  const all = await readToEnd(bus, [...twins, ...markerTopics], options);
  const markers = new Map<string, ReplayMarker[]>();
  const records: BusRecord[] = [];
  for (const record of all) {
    if (markerTopics.includes(record.topic)) {
      const marker = parse(record);
      if (marker === null) continue;
      const slot = markerSlot(marker.twin, marker);
      markers.set(slot, [...(markers.get(slot) ?? []), marker]);
    } else {
      records.push(record);
    }
  }
  return { records, markers };
}

function markerSlot(twin: string, position: { partition: number; offset: string }): string {
  return `${twin}/${formatPosition(position)}`;
}

async function decodeEntry(
  codec: SchemaCodec,
  record: BusRecord,
  replayed: ReplayMarker | null,
): Promise<DeadLetterEntry> {
  const position = { twin: record.topic, partition: record.partition, offset: record.offset };
  let envelope: DeadLetter;
  try {
    if (record.value === null) throw new Error('the twin record has a null value');
    envelope = (await codec.decode<DeadLetter>(record.value)).value;
    if (typeof envelope?.originalTopic !== 'string' || typeof envelope.errorCode !== 'string') {
      throw new Error('the record decodes, but not as a chatmesh.bus.DeadLetter');
    }
  } catch (error) {
    if (isChatmeshError(error) && error.retriable) throw error;
    return {
      ...position,
      envelope: null,
      envelopeError: describe(error),
      value: null,
      valueSchemaId: null,
      valueError: null,
      replayed,
    };
  }
  if (envelope.originalValue === null) {
    return {
      ...position,
      envelope,
      envelopeError: null,
      value: null,
      valueSchemaId: null,
      valueError: 'the original value was null',
      replayed,
    };
  }
  try {
    const decoded = await codec.decode(envelope.originalValue);
    return {
      ...position,
      envelope,
      envelopeError: null,
      value: decoded.value,
      valueSchemaId: decoded.schemaId,
      valueError: null,
      replayed,
    };
  } catch (error) {
    // The registry being down is not a property of the record: fail the command rather than mislabel it.
    if (isChatmeshError(error) && error.retriable) throw error;
    return {
      ...position,
      envelope,
      envelopeError: null,
      value: null,
      valueSchemaId: null,
      valueError: describe(error),
      replayed,
    };
  }
}

function describe(error: unknown): string {
  if (isChatmeshError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
