import type { Bus, OutgoingRecord } from '@chatmesh/bus';
import {
  TOPICS,
  valueSubjectOf,
  type InboxEntry,
  type MessageStatus,
  type MessageStatusUpdate,
  type SchemaCodec,
} from '@chatmesh/schemas';

/**
 * The dedupe key of a status update in the sender's inbox (contract 3):
 * `st:<chatId>:<STATUS>:<upToSeq>:<byUserId or *>`. A pointer passes each value once, so a replayed
 * report finds its entries already stored and the sequencer adds nothing.
 */
export function statusDedupeKey(
  chatId: string,
  status: MessageStatus,
  upToSeq: number,
  byUserId: string | null,
): string {
  return `st:${chatId}:${status}:${upToSeq}:${byUserId ?? '*'}`;
}

/** The dedupe key of a read pointer move in the reader's own inbox (contract 4). */
export function readPointerDedupeKey(chatId: string, upToSeq: number): string {
  return `rp:${chatId}:${upToSeq}`;
}

/** A status update for the sender's inbox (inboxSeq null: fan-out's sequencer assigns it). */
export function statusEntry(
  senderUserId: string,
  update: MessageStatusUpdate,
  dedupeKey: string = statusDedupeKey(update.chatId, update.status, update.upToSeq, update.byUserId),
): InboxEntry {
  return {
    userId: senderUserId,
    inboxSeq: null,
    dedupeKey,
    chatId: update.chatId,
    createdAtMs: update.changedAtMs,
    item: { 'chatmesh.receipts.MessageStatusUpdate': update },
  };
}

/** A read pointer move for the reader's own inbox, so their other devices clear the unread state. */
export function readPointerEntry(
  userId: string,
  chatId: string,
  upToSeq: number,
  byDeviceId: string,
  atMs: number,
): InboxEntry {
  return {
    userId,
    inboxSeq: null,
    dedupeKey: readPointerDedupeKey(chatId, upToSeq),
    chatId,
    createdAtMs: atMs,
    item: { 'chatmesh.inbox.ReadPointerUpdate': { upToSeq, byDeviceId } },
  };
}

/** Records per producer call. */
const BATCH_RECORDS = 512;

/**
 * Produces entries to `user.inbox` keyed by their user, in the given order (one producer call per
 * 512 records, so one user's entries keep their order within a partition).
 */
export async function sendInboxEntries(bus: Bus, codec: SchemaCodec, entries: readonly InboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const subject = valueSubjectOf(TOPICS.userInbox.name);
  const records: OutgoingRecord[] = await Promise.all(
    entries.map(async (entry) => ({ key: entry.userId, value: await codec.encode(subject, entry) })),
  );
  for (let i = 0; i < records.length; i += BATCH_RECORDS) {
    await bus.producer.send(TOPICS.userInbox.name, records.slice(i, i + BATCH_RECORDS));
  }
}
