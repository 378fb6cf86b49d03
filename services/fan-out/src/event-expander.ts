import type { Bus, OutgoingRecord } from '@chatmesh/bus';
import {
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type ChatEventKind,
  type InboxEntry,
  type SchemaCodec,
} from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';

/** The dedupe key of a chat event in a user's inbox: one inbox row per (chat, seq), however often it is replayed. */
export function chatEventDedupeKey(chatId: string, seq: number): string {
  return `chat/${chatId}/${seq}`;
}

/** The inbox kind and the users an event concerns beyond the members at its sequence number. */
export function describeEvent(event: ChatEvent): {
  kind: ChatEventKind;
  affected: readonly string[];
  clientMessageId: string | null;
} {
  const body = event.event;
  if ('chatmesh.chat.MessageReceived' in body) {
    return {
      kind: 'MESSAGE_RECEIVED',
      affected: [],
      clientMessageId: body['chatmesh.chat.MessageReceived'].clientMessageId,
    };
  }
  // The member list stays in the chat log: copied into each of a big group's inbox rows it would cost
  // members² bytes (30 MB for 1,024) and overflow Kafka's request size. The schema keeps
  // affectedUserIds for MEMBERS_ADDED / MEMBERS_REMOVED only.
  if ('chatmesh.chat.ChatCreated' in body) return { kind: 'CHAT_CREATED', affected: [], clientMessageId: null };
  if ('chatmesh.chat.ChatUpdated' in body) return { kind: 'CHAT_UPDATED', affected: [], clientMessageId: null };
  if ('chatmesh.chat.MembersAdded' in body) {
    return {
      kind: 'MEMBERS_ADDED',
      affected: body['chatmesh.chat.MembersAdded'].members.map((m) => m.userId),
      clientMessageId: null,
    };
  }
  return { kind: 'MEMBERS_REMOVED', affected: body['chatmesh.chat.MembersRemoved'].userIds, clientMessageId: null };
}

/** Records per producer call: big groups are sent in a few batches, not one record at a time. */
const BATCH_RECORDS = 512;
/**
 * Bytes per producer call, well under Kafka's default 1 MB request and message limits: entries of a mass
 * MEMBERS_ADDED carry the added ids, so 512 of them can weigh megabytes.
 */
const BATCH_BYTES = 512 * 1024;

/** Fan-out's first stage. */
export interface EventExpander {
  /**
   * Turns one chat event into one `user.inbox` entry per recipient: the members at the event's sequence
   * number, plus the users a membership event removed (they learn of their removal, then nothing more).
   * Idempotent downstream: each entry carries the dedupe key of (chat, seq).
   * @returns the recipients, for tests and metrics
   */
  expand(
    event: ChatEvent,
    sink?: { sendBytes(topic: string, records: readonly OutgoingRecord[]): Promise<void> },
  ): Promise<string[]>;
}

/** Creates the expander over the store's membership intervals. */
export function createEventExpander(deps: { store: ChatStore; codec: SchemaCodec; bus: Bus }): EventExpander {
  const { store, codec, bus } = deps;
  const subject = valueSubjectOf(TOPICS.userInbox.name);
  // Members only change at lifecycle events, so consecutive messages of a chat reuse the last lookup.
  const cache = new Map<string, { lastSeq: number; members: string[] }>();

  async function membersAt(event: ChatEvent, lifecycle: boolean): Promise<string[]> {
    const cached = cache.get(event.chatId);
    if (!lifecycle && cached && event.seq === cached.lastSeq + 1) {
      cached.lastSeq = event.seq;
      return cached.members;
    }
    const members = (await store.directory.membersAt(event.chatId, event.seq)).map((m) => m.userId);
    // A replay of an older event must not rewind the cache of the newest one.
    if (!cached || event.seq > cached.lastSeq) {
      cache.delete(event.chatId);
      cache.set(event.chatId, { lastSeq: event.seq, members });
      if (cache.size > 100_000) cache.delete(cache.keys().next().value!);
    }
    return members;
  }

  return {
    async expand(event, sink) {
      // Staged in the subscription's transaction when there is one: the handler then never waits for a produce.
      const send = sink
        ? (records: readonly OutgoingRecord[]) => sink.sendBytes(TOPICS.userInbox.name, records)
        : async (records: readonly OutgoingRecord[]) => void (await bus.producer.send(TOPICS.userInbox.name, records));
      const { kind, affected, clientMessageId } = describeEvent(event);
      const members = await membersAt(event, kind !== 'MESSAGE_RECEIVED');
      const recipients = kind === 'MEMBERS_REMOVED' ? [...new Set([...members, ...affected])] : members;
      let batch: OutgoingRecord[] = [];
      let batchBytes = 0;
      const flush = async (): Promise<void> => {
        if (batch.length > 0) await send(batch);
        batch = [];
        batchBytes = 0;
      };
      for (const userId of recipients) {
        const entry: InboxEntry = {
          userId,
          inboxSeq: null,
          dedupeKey: chatEventDedupeKey(event.chatId, event.seq),
          chatId: event.chatId,
          createdAtMs: event.serverTimeMs,
          item: {
            'chatmesh.inbox.ChatEventRef': {
              chatSeq: event.seq,
              kind,
              actorUserId: event.origin.userId,
              actorDeviceId: event.origin.deviceId,
              clientMessageId,
              serverTimeMs: event.serverTimeMs,
              affectedUserIds: affected,
            },
          },
        };
        const value = await codec.encode(subject, entry);
        if (batch.length >= BATCH_RECORDS || batchBytes + value.length > BATCH_BYTES) await flush();
        batch.push({ key: userId, value });
        batchBytes += value.length;
      }
      await flush();
      return recipients;
    },
  };
}
