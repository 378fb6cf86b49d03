import type { Bus } from '@chatmesh/bus';
import type { ErrorCode } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import type { TypedProducer } from '@chatmesh/runtime';
import {
  isBranch,
  gatewayDeliveriesTopic,
  type ChatEvent,
  type GatewayDelivery,
  type InboxEntry,
  type MessageStatus,
  type ReceiptReport,
  type SchemaCodec,
} from '@chatmesh/schemas';
import type { ChatStore, MembershipRecord, ReceiptPointers } from '@chatmesh/store';
import { BoundedLruMap } from '@chatmesh/lru';
import { createChatKinds } from './chat-kinds.js';
import { readPointerEntry, sendInboxEntries, statusEntry } from './inbox-entries.js';

/** Settings of {@link createReceiptProcessor}. */
export interface ReceiptProcessorSettings {
  /** Most chat-log entries one report reads; a longer jump keeps its newest part. */
  readonly scanLimit: number;
  /** Groups up to this many current members get per-member updates besides the aggregate. */
  readonly perMemberMaxGroup: number;
}

/** What one report did, for tests and metrics. */
export interface ReportOutcome {
  readonly outcome: 'applied' | 'unchanged' | 'ignored' | 'rejected';
  /** The rejection code, when rejected. */
  readonly code?: ErrorCode;
  /** Status updates produced, by scope. */
  readonly memberUpdates: number;
  readonly aggregateUpdates: number;
  readonly readPointerUpdates: number;
  /** Each produced status update's status and scope, for metrics. */
  readonly updates: ReadonlyArray<{ readonly status: MessageStatus; readonly scope: 'member' | 'aggregate' }>;
  readonly scanTruncated: boolean;
}

/** Turns delivered / read reports into pointer moves and the status changes senders see. */
export interface ReceiptProcessor {
  /**
   * @param ownership the subscription's assignment id of the report's partition: while it stays the same this
   * processor is the only writer of the chat's pointers, so a big chat's pointers are kept between reports
   * instead of read again (without it they are read every time)
   */
  process(report: ReceiptReport, ownership?: { readonly assignmentId: string }): Promise<ReportOutcome>;
  /**
   * Tells the processor that the chat log holds `seq` (the service calls it for every chat event it reads), so a
   * report up to it needs no read to prove it is not ahead of the log.
   */
  noteStored(chatId: string, seq: number): void;
}

/** Pointers (one per member of a chat) kept between reports in all; least recently used chats dropped past it. */
const POINTER_CACHE_ENTRIES = 262_144;
/** Chats whose highest known stored seq, and direct chats whose two members, are remembered (oldest dropped). */
const KNOWN_CHATS = 50_000;

const ZERO: ReceiptPointers = Object.freeze({ deliveredSeq: 0, readSeq: 0 });
/** Chat-log rows read per store call while scanning. */
const SCAN_PAGE = 500;

const nothing = (outcome: ReportOutcome['outcome'], code?: ErrorCode): ReportOutcome => ({
  outcome,
  ...(code ? { code } : {}),
  memberUpdates: 0,
  aggregateUpdates: 0,
  readPointerUpdates: 0,
  updates: [],
  scanTruncated: false,
});

/** A member's pointer as far as a message is concerned: nobody is a recipient of what came before they joined. */
function effective(value: number, member: MembershipRecord): number {
  return Math.max(value, member.joinedSeq - 1);
}

/** The two lowest values of a list of (user, value), so "the lowest of everybody but S" costs O(1) per S. */
interface LowestTwo {
  readonly lowest: readonly [string, number] | null;
  readonly second: number;
}

/**
 * {@link LowestTwo} of the members `counted` keeps, the reporter left out, each valued by its pointer. One pass,
 * no array: a big group's report runs it over every member.
 */
function lowestTwoOfOthers(
  members: readonly MembershipRecord[],
  counted: (member: MembershipRecord) => boolean,
  pointers: ReadonlyMap<string, ReceiptPointers>,
  field: keyof ReceiptPointers,
  reporter: string,
): LowestTwo {
  let lowestUser: string | null = null;
  let lowestValue = Number.POSITIVE_INFINITY;
  let second = Number.POSITIVE_INFINITY;
  for (const member of members) {
    if (member.userId === reporter || !counted(member)) continue;
    const value = effective((pointers.get(member.userId) ?? ZERO)[field], member);
    if (lowestUser === null || value < lowestValue) {
      if (lowestUser !== null) second = lowestValue;
      lowestUser = member.userId;
      lowestValue = value;
    } else if (value < second) {
      second = value;
    }
  }
  return { lowest: lowestUser === null ? null : [lowestUser, lowestValue], second };
}

/**
 * {@link LowestTwo} once the reporter, valued `own`, is added to the others' (equal values give every user
 * the same {@link lowestExcept} whichever of them counts as the lowest).
 */
function withReporter(others: LowestTwo, reporter: string, own: number): LowestTwo {
  if (others.lowest === null) return { lowest: [reporter, own], second: Number.POSITIVE_INFINITY };
  if (own < others.lowest[1]) return { lowest: [reporter, own], second: others.lowest[1] };
  if (own < others.second) return { lowest: others.lowest, second: own };
  return others;
}

/** Whether two results of {@link lowestTwo} give every user the same {@link lowestExcept}. */
function sameLowestTwo(a: LowestTwo, b: LowestTwo): boolean {
  return a.second === b.second && a.lowest?.[0] === b.lowest?.[0] && a.lowest?.[1] === b.lowest?.[1];
}

function lowestExcept(two: LowestTwo, userId: string): number {
  if (two.lowest === null) return Number.POSITIVE_INFINITY;
  return two.lowest[0] === userId ? two.second : two.lowest[1];
}

/** Whether the sender has a message in (after, upTo]. `seqs` ascending. */
function hasMessageIn(seqs: readonly number[] | undefined, after: number, upTo: number): boolean {
  return seqs !== undefined && seqs.some((seq) => seq > after && seq <= upTo);
}

/**
 * Creates the processor (contracts 1-5 of issue #7):
 * - validation: upToSeq <= 0 does nothing; a reporter who is not a current member (or an unknown chat)
 *   gets CM_ERR_RECEIPTS_NOT_A_MEMBER, a report past the chat's latest seq CM_ERR_RECEIPTS_BEYOND_HEAD,
 *   both as a `local:` CommandResult to the reporting device; a rejected report changes nothing;
 * - READ raises readSeq and deliveredSeq, DELIVERED raises deliveredSeq; nothing moved, nothing sent;
 * - the senders of the messages the move covers (chat log, at most `scanLimit` entries, newest part)
 *   get status updates through their inbox: per member (groups up to `perMemberMaxGroup`) and the
 *   aggregate when the lowest effective pointer of the other current members advanced for them;
 * - a READ move goes to the reader's own inbox as a ReadPointerUpdate;
 * - read receipts off (store.settings): no READ status from or to that user.
 *
 * Crash safety: entries are produced before the pointer is raised, with dedupe keys the sequencer
 * honours, so a report replayed after a crash recomputes the same entries and adds none twice. A group's members
 * are read on every report (a removal must count at once); a direct chat's two members never change, so they are
 * read once. Pointers are read once per ownership of the chat's partition (its only writer is then this processor;
 * a rebalance changes the assignment id, which reads them again). That a report is not
 * ahead of the chat log is proven by the highest seq this process saw stored (chat events, earlier checks) or,
 * past it, by reading that one row.
 */
export function createReceiptProcessor(
  deps: {
    store: ChatStore;
    codec: SchemaCodec;
    bus: Bus;
    typed: TypedProducer;
    logger: Logger;
    clock?: () => number;
  },
  settings: ReceiptProcessorSettings,
): ReceiptProcessor {
  const { store, codec, bus, typed, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const chatKind = createChatKinds(store);
  /** Per chat, the highest seq known to be in the chat log. */
  const storedUpTo = new BoundedLruMap<string, number>(KNOWN_CHATS);
  /** Direct chats' members: two, for good. */
  const directMembers = new BoundedLruMap<string, readonly MembershipRecord[]>(KNOWN_CHATS);

  function remember<V>(map: BoundedLruMap<string, V>, chatId: string, value: V): void {
    map.set(chatId, value);
  }

  function noteStored(chatId: string, seq: number): void {
    if ((storedUpTo.peek(chatId) ?? 0) < seq) remember(storedUpTo, chatId, seq);
  }

  /** Whether the chat log holds `seq`: known, or read once. */
  async function isStored(chatId: string, seq: number): Promise<boolean> {
    if ((storedUpTo.peek(chatId) ?? 0) >= seq) return true;
    if ((await store.chatLog.get(chatId, seq)) === null) return false;
    noteStored(chatId, seq);
    return true;
  }

  async function membersOf(chatId: string): Promise<readonly MembershipRecord[]> {
    const known = directMembers.peek(chatId);
    if (known !== undefined) return known;
    const members = await store.directory.currentMembers(chatId);
    if (members.length === 2 && (await chatKind(chatId)) === 'direct') remember(directMembers, chatId, members);
    return members;
  }

  /**
   * Chats' pointers as this processor last read or wrote them, per ownership of their partition: while the
   * assignment holds, this processor is their only writer, so a kept map is what the store holds.
   */
  const pointerCache = new Map<
    string,
    { assignmentId: string; pointers: Map<string, ReceiptPointers>; size: number }
  >();
  let cachedPointers = 0;

  /** The chat's pointers: kept ones when this ownership has them, else read and kept. */
  async function pointersOf(chatId: string, assignmentId: string | undefined): Promise<Map<string, ReceiptPointers>> {
    const cached = pointerCache.get(chatId);
    if (cached !== undefined && cached.assignmentId === assignmentId) {
      pointerCache.delete(chatId);
      pointerCache.set(chatId, cached);
      return cached.pointers;
    }
    const pointers = await store.receipts.pointersOfChat(chatId);
    if (assignmentId !== undefined) keepPointers(chatId, assignmentId, pointers);
    return pointers;
  }

  function keepPointers(chatId: string, assignmentId: string, pointers: Map<string, ReceiptPointers>): void {
    const old = pointerCache.get(chatId);
    if (old !== undefined) {
      pointerCache.delete(chatId);
      cachedPointers -= old.size;
    }
    // The size as counted now: the kept map itself grows when a new member's pointer is set in it.
    pointerCache.set(chatId, { assignmentId, pointers, size: pointers.size });
    cachedPointers += pointers.size;
    for (const [oldest, entry] of pointerCache) {
      if (cachedPointers <= POINTER_CACHE_ENTRIES || oldest === chatId) break;
      pointerCache.delete(oldest);
      cachedPointers -= entry.size;
    }
  }

  async function reject(report: ReceiptReport, code: ErrorCode, message: string): Promise<ReportOutcome> {
    const delivery: GatewayDelivery = {
      gatewayId: report.gatewayId,
      userId: report.userId,
      deviceId: report.deviceId,
      createdAtMs: clock(),
      payload: {
        'chatmesh.gateway.CommandResult': {
          requestId: report.requestId,
          chatId: report.chatId,
          clientMessageId: null,
          accepted: false,
          seq: null,
          serverTimeMs: null,
          reason: { code, message, retriable: false },
        },
      },
    };
    try {
      await typed.send(gatewayDeliveriesTopic(report.gatewayId).name, report.userId, delivery);
    } catch (error) {
      // A gateway that is gone (or a malformed id): the device is not there to be told; nothing changed.
      logger.warn(
        { err: error, gatewayId: report.gatewayId, code, chatId: report.chatId },
        'could not send a receipt rejection to its gateway',
      );
    }
    return nothing('rejected', code);
  }

  /** The senders of MESSAGE_RECEIVED events in (after, upTo], each with its message seqs ascending. */
  async function sendersIn(chatId: string, after: number, upTo: number): Promise<Map<string, number[]>> {
    const senders = new Map<string, number[]>();
    let cursor = after;
    while (cursor < upTo) {
      const limit = Math.min(SCAN_PAGE, upTo - cursor);
      const rows = await store.chatLog.readAfter(chatId, cursor, limit);
      for (const row of rows) {
        if (row.seq > upTo || row.kind !== 'message') continue;
        const event = (await codec.decode<ChatEvent>(row.payload)).value;
        if (!isBranch(event.event, 'chatmesh.chat.MessageReceived')) continue;
        const seqs = senders.get(event.origin.userId);
        if (seqs) seqs.push(row.seq);
        else senders.set(event.origin.userId, [row.seq]);
      }
      if (rows.length < limit) break;
      cursor = rows[rows.length - 1]!.seq;
    }
    return senders;
  }

  return {
    noteStored,
    async process(report, ownership) {
      const { chatId, userId: reporter, upToSeq } = report;
      if (!(upToSeq > 0)) return nothing('ignored');
      const assignmentId = ownership?.assignmentId;

      // Independent reads, together: the pointers are wasted only on a report that is refused.
      const [members, pointers, stored] = await Promise.all([
        membersOf(chatId),
        pointersOf(chatId, assignmentId),
        isStored(chatId, upToSeq),
      ]);
      const me = members.find((m) => m.userId === reporter);
      if (!me) {
        return reject(report, 'CM_ERR_RECEIPTS_NOT_A_MEMBER', `user ${reporter} is not a member of chat ${chatId}`);
      }
      if (!stored) {
        return reject(report, 'CM_ERR_RECEIPTS_BEYOND_HEAD', `chat ${chatId} has no message ${upToSeq} yet`);
      }

      const old = pointers.get(reporter) ?? ZERO;
      const next: ReceiptPointers = {
        deliveredSeq: Math.max(old.deliveredSeq, old.readSeq, upToSeq),
        readSeq: report.kind === 'READ' ? Math.max(old.readSeq, upToSeq) : old.readSeq,
      };
      const deliveredMoved = next.deliveredSeq > old.deliveredSeq;
      const readMoved = next.readSeq > old.readSeq;
      if (!deliveredMoved && !readMoved) return nothing('unchanged');

      const now = clock();
      const memberIds = { has: (userId: string): boolean => members.some((m) => m.userId === userId) };
      const [kind, readSettings] = await Promise.all([
        chatKind(chatId),
        readMoved ? store.settings.getMany(members.map((m) => m.userId)) : null,
      ]);
      const perMember = kind === 'group' && members.length <= settings.perMemberMaxGroup;
      const readsOn = (userId: string): boolean => readSettings?.get(userId)?.readReceipts ?? true;

      const moves: Array<{ status: 'DELIVERED' | 'READ'; field: keyof ReceiptPointers }> = [];
      if (deliveredMoved) moves.push({ status: 'DELIVERED', field: 'deliveredSeq' });
      // Read receipts off (contract 5): the reader's pointer still moves, but no READ state leaves it.
      if (readMoved && readsOn(reporter)) moves.push({ status: 'READ', field: 'readSeq' });
      // The lowest two pointers before and after each move: the aggregate any sender sees can only change
      // when they do, that is when the reporter was (or becomes) one of the two furthest behind.
      const lowest = moves.map(({ status, field }) => {
        const mineOld = effective(old[field], me);
        const mineNew = effective(next[field], me);
        // Who counts for the aggregate: every current member, but for READ only those who share read states.
        const counted = (m: MembershipRecord): boolean => status === 'DELIVERED' || readsOn(m.userId);
        const others = lowestTwoOfOthers(members, counted, pointers, field, reporter);
        // A reporter READ receipts leave out does not count for READ either.
        const mine = counted(me);
        return {
          mineOld,
          mineNew,
          before: mine ? withReporter(others, reporter, mineOld) : others,
          after: mine ? withReporter(others, reporter, mineNew) : others,
        };
      });
      const aggregateMayMove = lowest.some(
        ({ mineOld, mineNew, before, after }) => mineNew > mineOld && !sameLowestTwo(before, after),
      );

      // One scan covers both moves: READ's range starts at or below DELIVERED's and ends at or below it. A big
      // group's report that moves no aggregate (most of them) needs no scan: it tells no sender anything.
      const scanFrom = effective(readMoved ? old.readSeq : old.deliveredSeq, me);
      const scanTo = effective(next.deliveredSeq, me);
      const from = Math.max(scanFrom, scanTo - settings.scanLimit);
      const scanTruncated = from > scanFrom;
      const senders =
        scanTo > from && (perMember || aggregateMayMove)
          ? await sendersIn(chatId, from, scanTo)
          : new Map<string, number[]>();
      senders.delete(reporter);
      for (const sender of [...senders.keys()]) {
        // A sender who left no longer learns how far the members got.
        if (!memberIds.has(sender)) senders.delete(sender);
      }

      const entries: InboxEntry[] = [];
      const updates: Array<{ status: MessageStatus; scope: 'member' | 'aggregate' }> = [];
      let memberUpdates = 0;
      let aggregateUpdates = 0;

      for (const [index, { status }] of moves.entries()) {
        const { mineOld, mineNew, before, after } = lowest[index]!;
        if (mineNew <= mineOld) continue;
        for (const [sender, seqs] of senders) {
          if (status === 'READ' && !readsOn(sender)) continue;
          if (perMember && hasMessageIn(seqs, mineOld, mineNew)) {
            entries.push(
              statusEntry(sender, {
                chatId,
                fromSeq: mineOld + 1,
                upToSeq: mineNew,
                status,
                byUserId: reporter,
                changedAtMs: now,
              }),
            );
            updates.push({ status, scope: 'member' });
            memberUpdates++;
          }
          const aggregateBefore = lowestExcept(before, sender);
          const aggregateAfter = lowestExcept(after, sender);
          if (
            Number.isFinite(aggregateAfter) &&
            aggregateAfter > aggregateBefore &&
            hasMessageIn(seqs, aggregateBefore, aggregateAfter)
          ) {
            entries.push(
              statusEntry(sender, {
                chatId,
                fromSeq: aggregateBefore + 1,
                upToSeq: aggregateAfter,
                status,
                byUserId: null,
                changedAtMs: now,
              }),
            );
            updates.push({ status, scope: 'aggregate' });
            aggregateUpdates++;
          }
        }
      }
      if (readMoved) entries.push(readPointerEntry(reporter, chatId, next.readSeq, report.deviceId, now));

      // Produced before the pointer moves: a crash in between replays the report, which recomputes the
      // same dedupe keys (nothing stored twice) instead of finding the pointer moved and saying nothing.
      await sendInboxEntries(bus, codec, entries);
      await store.receipts.raise(chatId, reporter, {
        ...(deliveredMoved ? { deliveredSeq: next.deliveredSeq } : {}),
        ...(readMoved ? { readSeq: next.readSeq } : {}),
      });
      if (assignmentId !== undefined) {
        // What the store now holds for the reporter (raise only ever raises), kept for the next report.
        pointers.set(reporter, next);
        keepPointers(chatId, assignmentId, pointers);
      }
      return {
        outcome: 'applied',
        memberUpdates,
        aggregateUpdates,
        readPointerUpdates: readMoved ? 1 : 0,
        updates,
        scanTruncated,
      };
    },
  };
}
