import { isBranch, type InboxEntry, type SchemaCodec } from '@chatmesh/schemas';
import type { SequencedLogStore } from '@chatmesh/store';

/** Inbox entries read back to count a badge at most: a longer backlog shows the unread messages among its newest. */
export const UNREAD_SCAN_LIMIT = 1_000;

/**
 * The badge of a wake-up: the messages from other people in the user's inbox after `ackedSeq` (the furthest
 * device cursor) up to each requested inbox seq that no read pointer in that range covers. Receipts (status updates),
 * the user's own messages (sent from another device) and chat events other than messages are not unread messages.
 * Entries already in hand (the batch being sequenced) are not read back nor decoded again.
 *
 * @returns for each of `uptoSeqs` (ascending), the unread count at that inbox seq
 */
export async function countUnread(deps: {
  inboxLog: SequencedLogStore;
  codec: SchemaCodec;
  userId: string;
  ackedSeq: number;
  uptoSeqs: readonly number[];
  known: ReadonlyMap<number, InboxEntry>;
}): Promise<number[]> {
  const { userId, uptoSeqs, known } = deps;
  if (uptoSeqs.length === 0) return [];
  const last = uptoSeqs[uptoSeqs.length - 1]!;
  const from = Math.max(deps.ackedSeq, last - UNREAD_SCAN_LIMIT);
  // Only what is not in hand is read: the rows between the cursor and the batch.
  const firstKnown = Math.min(...known.keys(), last + 1);
  const rows =
    firstKnown - 1 > from
      ? await deps.inboxLog.readAfter(userId, from, Math.min(UNREAD_SCAN_LIMIT, firstKnown - 1 - from))
      : [];
  const entries: Array<{ seq: number; entry: InboxEntry | null }> = [];
  for (const row of rows) {
    if (row.seq >= firstKnown) break;
    // The row's kind says what it holds: only messages and read pointers are decoded.
    const relevant = row.kind === 'message_received' || row.kind === 'read_pointer';
    entries.push({ seq: row.seq, entry: relevant ? (await deps.codec.decode<InboxEntry>(row.payload)).value : null });
  }
  for (const [seq, entry] of [...known].sort(([a], [b]) => a - b))
    if (seq > from && seq <= last) entries.push({ seq, entry });
  const readUpTo = new Map<string, number>();
  const messages: Array<{ seq: number; chatId: string; chatSeq: number }> = [];
  const out: number[] = [];
  let next = 0;
  const countAt = () => messages.filter((m) => m.chatSeq > (readUpTo.get(m.chatId) ?? 0)).length;
  for (const { seq, entry } of entries) {
    while (next < uptoSeqs.length && uptoSeqs[next]! < seq) {
      out.push(countAt());
      next++;
    }
    if (entry === null) continue;
    const item = entry.item;
    if (isBranch(item, 'chatmesh.inbox.ChatEventRef')) {
      const ref = item['chatmesh.inbox.ChatEventRef'];
      if (ref.kind === 'MESSAGE_RECEIVED' && ref.actorUserId !== userId)
        messages.push({ seq, chatId: entry.chatId, chatSeq: ref.chatSeq });
    } else if (isBranch(item, 'chatmesh.inbox.ReadPointerUpdate')) {
      const upTo = item['chatmesh.inbox.ReadPointerUpdate'].upToSeq;
      readUpTo.set(entry.chatId, Math.max(readUpTo.get(entry.chatId) ?? 0, upTo));
    }
  }
  while (next < uptoSeqs.length) {
    out.push(countAt());
    next++;
  }
  return out;
}
