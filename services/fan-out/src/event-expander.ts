import type { Bus, OutgoingRecord } from '@chatmesh/bus';
import type { Logger } from '@chatmesh/logging';
import {
  matchBranch,
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type ChatEventEvent,
  type ChatEventKind,
  type InboxEntry,
  type SchemaCodec,
} from '@chatmesh/schemas';
import type { ChatStore } from '@chatmesh/store';
import { BoundedLruMap } from '@chatmesh/lru';
import { createBroadcastPusher, type BytesSink, type OnlineUsersLocator, type Schedule } from './broadcast-push.js';

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
  // The member list stays in the chat log: copied into each of a big group's inbox rows it would cost
  // members² bytes (30 MB for 1,024) and overflow Kafka's request size. The schema keeps
  // affectedUserIds for MEMBERS_ADDED / MEMBERS_REMOVED only.
  return matchBranch<ChatEventEvent, ReturnType<typeof describeEvent>>(event.event, {
    'chatmesh.chat.MessageReceived': (message) => ({
      kind: 'MESSAGE_RECEIVED',
      affected: [],
      clientMessageId: message.clientMessageId,
    }),
    'chatmesh.chat.ChatCreated': () => ({ kind: 'CHAT_CREATED', affected: [], clientMessageId: null }),
    'chatmesh.chat.ChatUpdated': () => ({ kind: 'CHAT_UPDATED', affected: [], clientMessageId: null }),
    'chatmesh.chat.MembersAdded': (added) => ({
      kind: 'MEMBERS_ADDED',
      affected: added.members.map((m) => m.userId),
      clientMessageId: null,
    }),
    'chatmesh.chat.MembersRemoved': (removed) => ({
      kind: 'MEMBERS_REMOVED',
      affected: removed.userIds,
      clientMessageId: null,
    }),
  });
}

/** Records per producer call: big groups are sent in a few batches, not one record at a time. */
const BATCH_RECORDS = 512;
/**
 * Bytes per producer call, well under Kafka's default 1 MB request and message limits: entries of a mass
 * MEMBERS_ADDED carry the added ids, so 512 of them can weigh megabytes.
 */
const BATCH_BYTES = 512 * 1024;

/** How one event was expanded, for tests and metrics. */
export interface Expansion {
  /** The users given a `user.inbox` entry. */
  readonly recipients: string[];
  /** Whether the event went once to `chat.broadcast` (a broadcast chat from `since` on). */
  readonly broadcast: boolean;
  /** Wake-up pushes sent or staged for a broadcast message now (a timer may send more at its window's end). */
  readonly pushed: number;
}

/** Where and how one event is expanded, all optional outside a subscription (tests, tools). */
export interface ExpandOptions {
  /** The handler's sink: records are staged in the subscription's transaction. @default the shared producer */
  readonly sink?: BytesSink;
  /**
   * The record's raw value (Confluent wire format, as ingest encoded it): forwarded unchanged to `chat.broadcast`.
   * @default the event encoded again
   */
  readonly value?: Buffer | null;
  /**
   * The subscription's ownership of the chat's partition: a chat found not broadcast is believed so until it
   * changes (only the owner marks chats, and a new owner may have marked it meanwhile).
   */
  readonly assignmentId?: string;
}

/** Fan-out's first stage. */
export interface EventExpander {
  /**
   * Expands one chat event. A chat whose members reach the broadcast threshold is marked broadcast (sticky)
   * from the next seq on; the event that reaches it, and every event of a chat that is not broadcast, becomes
   * one `user.inbox` entry per recipient: the members at the event's sequence number, plus the users a removal
   * concerns (they learn of their removal, then nothing more). An event of a broadcast chat goes once to
   * `chat.broadcast` instead; only the users a membership event adds or removes get an inbox entry, and its
   * messages wake the offline members by coalesced pushes. Idempotent downstream: each entry carries the dedupe
   * key of (chat, seq), gateways drop a broadcast event they already published.
   */
  expand(event: ChatEvent, options?: ExpandOptions): Promise<Expansion>;
  /** Wake-up pushes of broadcast messages sent or staged so far. */
  readonly broadcastPushes: number;
  /** Cancels the push timers after sending what they hold (best effort). Call after the subscription stopped. */
  stop(): Promise<void>;
}

/** What the expander is told about broadcast chats. */
export interface BroadcastSettings {
  /** Members at which a chat becomes broadcast; 0 makes no new one (chats marked before stay broadcast). */
  readonly threshold: number;
  /** At most one push scan per broadcast chat per window; 0 at every message. */
  readonly pushWindowMs: number;
}

/** Chats whose members, or broadcast state, are remembered; the oldest is forgotten past it. */
const MAX_CACHED_CHATS = 100_000;

/** Creates the expander over the store's membership intervals. */
export function createEventExpander(deps: {
  store: ChatStore;
  codec: SchemaCodec;
  bus: Bus;
  presence: OnlineUsersLocator;
  broadcast: BroadcastSettings;
  logger?: Logger;
  clock?: () => number;
  schedule?: Schedule;
}): EventExpander {
  const { store, codec, bus } = deps;
  const { threshold } = deps.broadcast;
  const subject = valueSubjectOf(TOPICS.userInbox.name);
  const broadcastSubject = valueSubjectOf(TOPICS.chatBroadcast.name);
  const direct: BytesSink = {
    sendBytes: async (topic, records) => void (await bus.producer.send(topic, records)),
  };
  const pusher = createBroadcastPusher({
    codec,
    bus,
    presence: deps.presence,
    windowMs: deps.broadcast.pushWindowMs,
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.schedule ? { schedule: deps.schedule } : {}),
  });
  // Members only change at lifecycle events, so consecutive messages of a chat reuse the last lookup.
  const cache = new BoundedLruMap<string, { lastSeq: number; members: string[] }>(MAX_CACHED_CHATS);
  // Since which seq each chat is broadcast. A mark never changes, so a found one is kept for good; "not
  // broadcast" holds only for the ownership that read it (another owner may mark the chat meanwhile).
  const broadcastSince = new BoundedLruMap<
    string,
    { since: number } | { since: null; assignmentId: string | undefined }
  >(MAX_CACHED_CHATS);

  async function membersAt(event: ChatEvent, lifecycle: boolean): Promise<string[]> {
    const cached = cache.peek(event.chatId);
    if (!lifecycle && cached && event.seq === cached.lastSeq + 1) {
      cached.lastSeq = event.seq;
      return cached.members;
    }
    const members = (await store.directory.membersAt(event.chatId, event.seq)).map((m) => m.userId);
    // A replay of an older event must not rewind the cache of the newest one.
    if (!cached || event.seq > cached.lastSeq) {
      cache.set(event.chatId, { lastSeq: event.seq, members });
    }
    return members;
  }

  function remember(chatId: string, entry: { since: number } | { since: null; assignmentId: string | undefined }) {
    broadcastSince.set(chatId, entry);
  }

  /** Since which seq the chat is broadcast (null: it is not), from the cache or the store. */
  async function sinceOf(chatId: string, assignmentId: string | undefined): Promise<number | null> {
    const cached = broadcastSince.peek(chatId);
    if (cached && (cached.since !== null || cached.assignmentId === assignmentId)) return cached.since;
    const since = await store.broadcastChats.sinceOf(chatId);
    remember(chatId, since === null ? { since, assignmentId } : { since });
    return since;
  }

  /** One inbox entry per recipient, in producer calls bounded in records and bytes. */
  async function sendInboxEntries(
    event: ChatEvent,
    description: ReturnType<typeof describeEvent>,
    recipients: readonly string[],
    sink: BytesSink,
  ): Promise<void> {
    const { kind, affected, clientMessageId } = description;
    let batch: OutgoingRecord[] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length > 0) await sink.sendBytes(TOPICS.userInbox.name, batch);
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
  }

  return {
    get broadcastPushes() {
      return pusher.pushes;
    },
    stop: () => pusher.stop(),
    async expand(event, options = {}) {
      // Staged in the subscription's transaction when there is one: the handler then never waits for a produce.
      const sink = options.sink ?? direct;
      const description = describeEvent(event);
      const { kind, affected } = description;
      const [members, known] = await Promise.all([
        membersAt(event, kind !== 'MESSAGE_RECEIVED'),
        // Read even with the threshold at 0: a chat marked before stays broadcast (gateways and devices follow it so).
        sinceOf(event.chatId, options.assignmentId),
      ]);
      let since = known;
      if (since === null && threshold > 0 && members.length >= threshold) {
        // From the next event on: this one still reaches every member's inbox, which is how they learn that the
        // chat exists and is broadcast. The first mark wins (another owner's may be older: then this event is
        // broadcast already); a failure throws and the subscription retries the record.
        since = await store.broadcastChats.mark(event.chatId, event.seq + 1);
        remember(event.chatId, { since });
      }
      if (since === null || event.seq < since) {
        const recipients = kind === 'MEMBERS_REMOVED' ? [...new Set([...members, ...affected])] : members;
        await sendInboxEntries(event, description, recipients, sink);
        return { recipients, broadcast: false, pushed: 0 };
      }
      const value = options.value ?? (await codec.encode(broadcastSubject, event));
      await sink.sendBytes(TOPICS.chatBroadcast.name, [{ key: event.chatId, value }]);
      // Only the users a membership change concerns get an inbox entry: the added learn that they joined (and
      // that the chat is broadcast), the removed that they left. Everyone else follows the chat on the gateways.
      const recipients = kind === 'MEMBERS_ADDED' || kind === 'MEMBERS_REMOVED' ? [...new Set(affected)] : [];
      await sendInboxEntries(event, description, recipients, sink);
      const pushed =
        kind === 'MESSAGE_RECEIVED'
          ? await pusher.onMessage(
              { chatId: event.chatId, seq: event.seq, senderUserId: event.origin.userId, members },
              sink,
            )
          : 0;
      return { recipients, broadcast: true, pushed };
    },
  };
}
