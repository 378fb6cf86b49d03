import type { ChatEvent, ChatEventRef, InboxEntry, SchemaCodec } from '@chatmesh/schemas';
import type { ChatStore, LogEntry } from '@chatmesh/store';

/** Rows read per page from a sequenced log. */
const PAGE_ROWS = 500;

/** Every row of one stream of a sequenced log, ascending by sequence number. */
export async function readWholeLog(
  log: ChatStore['chatLog'] | ChatStore['inboxLog'],
  streamId: string,
): Promise<LogEntry[]> {
  const rows: LogEntry[] = [];
  for (;;) {
    const page = await log.readAfter(streamId, rows.at(-1)?.seq ?? 0, PAGE_ROWS);
    rows.push(...page);
    if (page.length < PAGE_ROWS) return rows;
  }
}

/** One stored row of a chat log, decoded. */
export interface ChatLogRow {
  readonly seq: number;
  readonly idempotencyKey: string;
  readonly kind: string;
  readonly event: ChatEvent;
}

/** A chat's stored log, decoded (the store's own row seq next to the seq inside the event). */
export async function readChatLog(store: ChatStore, codec: SchemaCodec, chatId: string): Promise<ChatLogRow[]> {
  const rows = await readWholeLog(store.chatLog, chatId);
  return Promise.all(
    rows.map(async (row) => ({
      seq: row.seq,
      idempotencyKey: row.idempotencyKey,
      kind: row.kind,
      event: (await codec.decode<ChatEvent>(row.payload)).value,
    })),
  );
}

/** One stored inbox row, decoded; `ref` is set for chat events (the only entries the core path writes). */
export interface InboxRow {
  readonly inboxSeq: number;
  readonly idempotencyKey: string;
  readonly entry: InboxEntry;
  readonly ref: ChatEventRef | null;
}

/** A user's stored inbox, decoded, in inbox order. */
export async function readInbox(store: ChatStore, codec: SchemaCodec, userId: string): Promise<InboxRow[]> {
  const rows = await readWholeLog(store.inboxLog, userId);
  return Promise.all(
    rows.map(async (row) => {
      const entry = (await codec.decode<InboxEntry>(row.payload)).value;
      const ref = 'chatmesh.inbox.ChatEventRef' in entry.item ? entry.item['chatmesh.inbox.ChatEventRef'] : null;
      return { inboxSeq: row.seq, idempotencyKey: row.idempotencyKey, entry, ref };
    }),
  );
}

/** A compact, comparable picture of streams (seq and idempotency key of each row), to prove a replay changed nothing. */
export async function snapshotStreams(
  log: ChatStore['chatLog'] | ChatStore['inboxLog'],
  streamIds: readonly string[],
): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const streamId of streamIds) {
    snapshot[streamId] = (await readWholeLog(log, streamId)).map((row) => `${row.seq}|${row.idempotencyKey}`);
  }
  return snapshot;
}
