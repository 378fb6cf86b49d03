import type { Logger } from '@chatmesh/logging';
import type { Bus } from '@chatmesh/bus';
import { createTypedSink, type TypedSink } from '@chatmesh/runtime';
import {
  isBranch,
  gatewayDeliveriesTopic,
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type ChatEventRef,
  type GatewayDelivery,
  type InboxEntry,
  type MessageContent,
  type PushRequest,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { appendFencedBatch, FencedHeads, WriterEpochs, type ChatStore } from '@chatmesh/store';
import type { OutgoingRecord } from '@chatmesh/bus';
import { BoundedLruMap } from '@chatmesh/lru';
import type { RecentPayloads } from './recent-payloads.js';
import { countUnread } from './unread-count.js';

/** The writer's name under which the inbox sequencer claims its epochs. */
export const INBOX_LOG_WRITER = 'inbox_log';

/**
 * Where one inbox entry is sequenced: the writer epoch of its partition's ownership and the sink of its outputs
 * (gateway deliveries, push requests), staged in the bus's transaction so a fenced zombie publishes nothing.
 */
export interface SequencerContext {
  readonly epoch: number;
  readonly out: TypedSink;
}

/** Where a user's devices are connected; the presence registry answers it. */
export interface DeviceLocator {
  onlineDevices(userId: string): Promise<ReadonlyArray<{ readonly deviceId: string; readonly gatewayId: string }>>;
}

/** What happened to one inbox entry, for tests and metrics. */
export interface SequencedOutcome {
  readonly inboxSeq: number;
  /** False when the entry was already in the inbox (a replay): it is routed again, never stored twice. */
  readonly created: boolean;
  readonly deliveredTo: readonly string[];
  readonly pushed: boolean;
}

/** Fan-out's second stage: the single writer of each user's inbox. */
export interface InboxSequencer {
  /**
   * Appends the entry to its user's inbox with the next per-user sequence number (exactly once per dedupe
   * key) and routes it: to the delivery topic of each online device's gateway, or to push.requests when
   * the user has no device online.
   */
  sequence(entry: InboxEntry, context?: SequencerContext): Promise<SequencedOutcome>;
  /**
   * {@link sequence} for consecutive entries of one user (the bus hands a busy inbox's waiting entries over
   * together): one presence lookup, one batched append, one staged output per topic, in the entries' order.
   * @throws as {@link sequence}; the bus then sequences the entries one by one
   */
  sequenceBatch(entries: readonly InboxEntry[], context?: SequencerContext): Promise<SequencedOutcome[]>;
}

/**
 * Which inbox entries need no idempotency-key read before their append: a chat event for a user whose chat had a
 * later-than-ever entry *created* (not found) by this writer epoch, and whose own chat sequence is higher still.
 *
 * Why that is safe: one user's entries are appended in the order of their partition, by one writer at a time, so a
 * row an earlier owner wrote for a record means it had written rows for every record of that user before it. Our
 * creating (user, chat, n) proved no row existed for that record, so no earlier owner got past it; a chat's events
 * reach a user's partition in chat order (ingest appends and emits in order, fan-out expands each chat in order),
 * so an event of that chat with a higher sequence that comes later is new. A re-emitted old event (ingest answering
 * a retried send) has a sequence at or below one already seen and is checked as before. Receipts' entries (statuses,
 * read pointers) are always checked. Saves one Cassandra read per message per recipient on the steady path.
 */
export class FreshChatEvents {
  readonly #createdUpTo: BoundedLruMap<string, { readonly epoch: number; readonly chatSeq: number }>;
  /** @param maxChats (user, chat) pairs remembered @default 200000 */
  constructor(maxChats = 200_000) {
    this.#createdUpTo = new BoundedLruMap(maxChats);
  }
  /** True when the entry's key needs no read under `epoch` (see the class). */
  isFresh(entry: InboxEntry, epoch: number): boolean {
    const chatSeq = chatSeqOf(entry);
    if (chatSeq === null) return false;
    const known = this.#createdUpTo.get(slotOf(entry));
    return known !== undefined && known.epoch === epoch && chatSeq > known.chatSeq;
  }
  /** Records that `entry` was created (appended anew, not found) under `epoch`. */
  created(entry: InboxEntry, epoch: number): void {
    const chatSeq = chatSeqOf(entry);
    if (chatSeq === null) return;
    const slot = slotOf(entry);
    const known = this.#createdUpTo.peek(slot);
    if (known === undefined || known.epoch !== epoch || known.chatSeq < chatSeq) {
      this.#createdUpTo.set(slot, { epoch, chatSeq });
    }
  }
}

/** The (user, chat) pair an entry belongs to, as {@link FreshChatEvents} keys it. */
function slotOf(entry: InboxEntry): string {
  return `${entry.userId}\u0000${entry.chatId}`;
}

function chatSeqOf(entry: InboxEntry): number | null {
  return isBranch(entry.item, 'chatmesh.inbox.ChatEventRef') ? entry.item['chatmesh.inbox.ChatEventRef'].chatSeq : null;
}

function inboxKind(entry: InboxEntry): string {
  const item = entry.item;
  if (isBranch(item, 'chatmesh.inbox.ChatEventRef')) return item['chatmesh.inbox.ChatEventRef'].kind.toLowerCase();
  if (isBranch(item, 'chatmesh.receipts.MessageStatusUpdate')) return 'status';
  return 'read_pointer';
}

/** Creates the sequencer. */
export function createInboxSequencer(deps: {
  store: ChatStore;
  codec: SchemaCodec;
  bus: Bus;
  devices: DeviceLocator;
  logger: Logger;
  clock?: () => number;
  /** Recent chat-log payloads (from the expansion), looked up before the chat log. */
  payloads?: RecentPayloads;
  /** Which entries skip their key read (tests pass their own to observe it). */
  freshChatEvents?: FreshChatEvents;
}): InboxSequencer {
  const { store, codec, devices, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const heads = new FencedHeads();
  const fresh = deps.freshChatEvents ?? new FreshChatEvents();
  // Without a context (tests, tools) the sequencer is a writer of its own: one epoch, direct sends.
  const standalone = new WriterEpochs(store.writerEpochs, INBOX_LOG_WRITER);
  const directSink = createTypedSink(codec, deps.bus);
  const subject = valueSubjectOf(TOPICS.userInbox.name);
  const pushSubject = valueSubjectOf(TOPICS.pushRequests.name);

  /** The message a delivery carries, read from the chat log: the inbox row only references it. */
  async function contentOf(entry: InboxEntry): Promise<MessageContent | null> {
    const item = entry.item;
    if (
      !isBranch(item, 'chatmesh.inbox.ChatEventRef') ||
      item['chatmesh.inbox.ChatEventRef'].kind !== 'MESSAGE_RECEIVED'
    )
      return null;
    const { chatSeq } = item['chatmesh.inbox.ChatEventRef'];
    const payload =
      deps.payloads?.get(entry.chatId, chatSeq) ?? (await store.chatLog.get(entry.chatId, chatSeq))?.payload;
    if (payload === undefined) return null;
    const event = (await codec.decode<ChatEvent>(payload)).value;
    return isBranch(event.event, 'chatmesh.chat.MessageReceived')
      ? event.event['chatmesh.chat.MessageReceived'].content
      : null;
  }

  /** Each device gets only the ciphertext addressed to it (end-to-end encryption is per device). */
  function forDevice(content: MessageContent | null, userId: string, deviceId: string): MessageContent | null {
    if (!content || content.envelopes.length === 0) return content;
    return {
      ...content,
      envelopes: content.envelopes.filter((e) => e.recipientUserId === userId && e.recipientDeviceId === deviceId),
    };
  }

  type Online = ReadonlyArray<{ readonly deviceId: string; readonly gatewayId: string }>;

  function lookUpOnline(userId: string): Promise<Online> {
    return devices.onlineDevices(userId).catch((error: unknown) => {
      // Presence is ephemeral: without it the entries are still in the inbox and every device replays them on
      // reconnect, so routing falls back to the inbox path instead of failing the records.
      logger.warn({ err: error, userId }, 'presence registry unavailable: routing to push and the inbox only');
      return [] as Online;
    });
  }

  function isPushWorthy(entry: InboxEntry, userId: string): boolean {
    const ref = isBranch(entry.item, 'chatmesh.inbox.ChatEventRef') ? entry.item['chatmesh.inbox.ChatEventRef'] : null;
    // Wake a user with no device online for what a person would want to know; never for their own actions.
    return ref !== null && ref.actorUserId !== userId && ref.kind !== 'CHAT_UPDATED';
  }

  /**
   * Appends and routes consecutive entries of one user (one, or a batch the bus handed over): where the user's
   * devices are, what the messages say and the push's cursor read do not depend on the inbox positions, so they are
   * looked up while the entries are appended, not after (round trips less per entry on the path).
   */
  async function sequenceRun(drafts: readonly InboxEntry[], given?: SequencerContext): Promise<SequencedOutcome[]> {
    const userId = drafts[0]!.userId;
    const { epoch, out } = given ?? { epoch: await standalone.epochFor('standalone'), out: directSink };
    const onlineLookup = lookUpOnline(userId);
    const contentsLookup = onlineLookup.then((online) =>
      online.length > 0 ? Promise.all(drafts.map((draft) => contentOf(draft))) : drafts.map(() => null),
    );
    // Not awaited until after the append: keep a rejection from counting as unhandled meanwhile.
    contentsLookup.catch(() => undefined);
    // A user with no device online gets a push counting the entries past their furthest device cursor.
    const anyPush = drafts.some((draft) => isPushWorthy(draft, userId));
    const ackedLookup = anyPush
      ? onlineLookup.then(async (online) =>
          online.length > 0 ? 0 : Math.max(0, ...(await store.cursors.listDevices(userId)).map((d) => d.ackedSeq)),
        )
      : Promise.resolve(0);
    ackedLookup.catch(() => undefined);
    const appended = await appendFencedBatch(
      store.inboxLog,
      heads,
      drafts.map((draft) => ({
        streamId: userId,
        idempotencyKey: draft.dedupeKey,
        keyChecked: fresh.isFresh(draft, epoch),
        kind: inboxKind(draft),
        createdAtMs: draft.createdAtMs,
        payload: (seq: number) => codec.encode(subject, { ...draft, inboxSeq: seq } satisfies InboxEntry),
      })),
      epoch,
    );
    appended.forEach(({ created }, index) => {
      if (created) fresh.created(drafts[index]!, epoch);
    });
    // A new row holds exactly what was just encoded; only a replay needs the stored bytes decoded.
    const stored = await Promise.all(
      appended.map(async ({ entry, created }, index) =>
        created ? { ...drafts[index]!, inboxSeq: entry.seq } : (await codec.decode<InboxEntry>(entry.payload)).value,
      ),
    );
    const online = await onlineLookup;
    // Each output, with the entry and device it delivers to (none for a push).
    const outputs: Array<{ topic: string; value: Promise<Buffer>; index: number; deviceId: string | null }> = [];
    const pushed: boolean[] = stored.map(() => false);
    if (online.length > 0) {
      const contents = await contentsLookup;
      stored.forEach((entry, index) => {
        for (const device of online) {
          const topic = gatewayDeliveriesTopic(device.gatewayId).name;
          const delivery: GatewayDelivery = {
            gatewayId: device.gatewayId,
            userId,
            deviceId: device.deviceId,
            createdAtMs: clock(),
            payload: {
              'chatmesh.gateway.InboxDelivery': {
                entry,
                content: forDevice(contents[index] ?? null, userId, device.deviceId),
              },
            },
          };
          outputs.push({
            topic,
            value: codec.encode(valueSubjectOf(topic), delivery),
            index,
            deviceId: device.deviceId,
          });
        }
      });
    } else if (anyPush) {
      const ackedSeq = await ackedLookup;
      const pushSeqs = stored.flatMap((entry, index) =>
        isPushWorthy(entry, userId) ? [appended[index]!.entry.seq] : [],
      );
      const unread = await countUnread({
        inboxLog: store.inboxLog,
        codec,
        userId,
        ackedSeq,
        uptoSeqs: [...pushSeqs].sort((a, b) => a - b),
        known: new Map(stored.map((entry, index) => [appended[index]!.entry.seq, entry])),
      });
      const badgeAt = new Map([...pushSeqs].sort((a, b) => a - b).map((seq, i) => [seq, unread[i]!]));
      stored.forEach((entry, index) => {
        if (!isPushWorthy(entry, userId)) return;
        const ref = (entry.item as { 'chatmesh.inbox.ChatEventRef': ChatEventRef })['chatmesh.inbox.ChatEventRef'];
        const seq = appended[index]!.entry.seq;
        const push: PushRequest = {
          userId,
          requestId: `${userId}/${seq}`,
          chatId: entry.chatId,
          // Unread messages from others past the furthest device cursor (not receipts, read pointers or own sends).
          unreadCount: badgeAt.get(seq) ?? 0,
          newMessageCount: ref.kind === 'MESSAGE_RECEIVED' ? 1 : 0,
          upToInboxSeq: seq,
          targets: [],
          createdAtMs: clock(),
        };
        outputs.push({
          topic: TOPICS.pushRequests.name,
          value: codec.encode(pushSubject, push),
          index,
          deviceId: null,
        });
        pushed[index] = true;
      });
    }
    // Staged per topic in the entries' order (one request per gateway): a device sees its inbox in sequence.
    const values = await Promise.all(outputs.map((output) => output.value));
    const byTopic = new Map<string, Array<{ record: OutgoingRecord; index: number; deviceId: string | null }>>();
    outputs.forEach(({ topic, index, deviceId }, position) => {
      const list = byTopic.get(topic) ?? [];
      list.push({ record: { key: userId, value: values[position]! }, index, deviceId });
      byTopic.set(topic, list);
    });
    const deliveredTo: string[][] = stored.map(() => []);
    await Promise.all(
      [...byTopic].map(async ([topic, list]) => {
        try {
          await out.sendBytes(
            topic,
            list.map((item) => item.record),
          );
        } catch (error) {
          if (topic === TOPICS.pushRequests.name) throw error;
          // A gateway that vanished with its topic: its devices sync from their cursors when they reconnect.
          logger.warn({ err: error, userId, topic }, 'delivery to a gateway failed');
          return;
        }
        for (const { index, deviceId } of list) if (deviceId !== null) deliveredTo[index]!.push(deviceId);
      }),
    );
    return stored.map((_entry, index) => ({
      inboxSeq: appended[index]!.entry.seq,
      created: appended[index]!.created,
      deliveredTo: deliveredTo[index]!,
      pushed: pushed[index]!,
    }));
  }

  return {
    async sequence(draft, given) {
      return (await sequenceRun([draft], given))[0]!;
    },
    async sequenceBatch(drafts, given) {
      // The bus batches per key (the user), so this is one run; consecutive runs of other users are split off anyway.
      const outcomes: SequencedOutcome[] = [];
      for (let start = 0; start < drafts.length;) {
        let end = start + 1;
        while (end < drafts.length && drafts[end]!.userId === drafts[start]!.userId) end++;
        outcomes.push(...(await sequenceRun(drafts.slice(start, end), given)));
        start = end;
      }
      return outcomes;
    },
  };
}
