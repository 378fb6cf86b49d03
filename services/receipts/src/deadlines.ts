import { partitionForKey, type Bus, type OutgoingRecord } from '@chatmesh/bus';
import { compileRetryPolicy, retry } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import {
  isBranch,
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type DeliveryFailed,
  type InboxEntry,
  type SchemaCodec,
} from '@chatmesh/schemas';
import type { ChatStore, DeliveryDeadline } from '@chatmesh/store';
import { createChatKinds } from './chat-kinds.js';
import { sendInboxEntries, statusEntry } from './inbox-entries.js';

/** Deadline shards: each is swept on its own, so a bucket stays a bounded Cassandra partition. */
export const DEADLINE_SHARDS = 16;
/** Each deadline's check is retried in place before the shard's sweep stops until the next one. */
const CHECK_RETRY = compileRetryPolicy({ maxAttempts: 6, initialDelayMs: 100, maxDelayMs: 2_000 });
/** The topic FAILED notices go to (one DeliveryFailed per message × recipient). */
export const FAILED_NOTICES_TOPIC = TOPICS.deliveryFailures.name;

/** Settings of the FAILED path. */
export interface DeadlineSettings {
  readonly failAfterMs: number;
  readonly deadlineBucketMs: number;
}

/** The shard of a chat's deadlines: a stable hash (Kafka's murmur2) of the chat id. */
export function deadlineShardOf(chatId: string): number {
  return partitionForKey(chatId, DEADLINE_SHARDS);
}

/**
 * Records the delivery deadline of each stored message (consumer of chat.events). The due bucket is
 * `floor((serverTimeMs + failAfterMs) / bucketMs)`, raised to the current bucket when the message is
 * already past its deadline (a consumer that lags, a replay): a bucket behind "now" may already be
 * swept, and the current one never is.
 * @returns whether the event was a message (and so got a deadline)
 */
export function createDeadlineRecorder(
  deps: { store: ChatStore; clock?: () => number },
  settings: DeadlineSettings,
): { record(event: ChatEvent): Promise<boolean> } {
  const clock = deps.clock ?? Date.now;
  return {
    async record(event) {
      if (!isBranch(event.event, 'chatmesh.chat.MessageReceived')) return false;
      const due = Math.floor((event.serverTimeMs + settings.failAfterMs) / settings.deadlineBucketMs);
      const bucket = Math.max(due, Math.floor(clock() / settings.deadlineBucketMs));
      await deps.store.receipts.addDeadline(deadlineShardOf(event.chatId), bucket, {
        chatId: event.chatId,
        seq: event.seq,
        senderUserId: event.origin.userId,
        sentAtMs: event.serverTimeMs,
      });
      return true;
    },
  };
}

/** What one sweep did. */
export interface SweepOutcome {
  readonly bucketsSwept: number;
  readonly deadlinesChecked: number;
  /** (message, recipient) pairs that became FAILED. */
  readonly failed: number;
  /** Deadlines given up after their retries (store or bus down for seconds). */
  readonly errors: number;
}

/** The sweeper of due deadline buckets. */
export interface DeadlineSweeper {
  /** Sweeps every shard's buckets that ended before `now` and that this instance wins. */
  sweep(now?: number): Promise<SweepOutcome>;
}

/**
 * Creates the sweeper. For each shard it walks the buckets from the shared cursor (`sweepCursor`; on
 * the very first sweep of a shard, the cursor is set to the current bucket) up to, not including, the
 * current bucket: only buckets whose every deadline has passed. A bucket is processed, then the
 * cursor moves past it with a compare-and-set (`claimSweep`): every bucket is swept at least once, even
 * when an instance dies mid-bucket. A due message gets FAILED for each recipient (members at its seq but
 * the sender) whose delivered pointer is below it: a status update to the sender's inbox (deduped there
 * by its key, so a bucket swept twice shows once) and a DeliveryFailed notice on receipts.failed.
 */
export function createDeadlineSweeper(
  deps: {
    store: ChatStore;
    codec: SchemaCodec;
    bus: Bus;
    logger: Logger;
    clock?: () => number;
  },
  settings: DeadlineSettings,
): DeadlineSweeper {
  const { store, codec, bus, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const chatKind = createChatKinds(store);
  const noticeSubject = valueSubjectOf(FAILED_NOTICES_TOPIC);

  async function check(deadline: DeliveryDeadline, now: number): Promise<number> {
    const { chatId, seq, senderUserId } = deadline;
    const recipients = (await store.directory.membersAt(chatId, seq)).filter((m) => m.userId !== senderUserId);
    if (recipients.length === 0) return 0;
    const pointers = await store.receipts.pointersOfChat(chatId);
    const undelivered = recipients.filter((m) => (pointers.get(m.userId)?.deliveredSeq ?? 0) < seq);
    if (undelivered.length === 0) return 0;
    const direct = (await chatKind(chatId)) === 'direct';
    const row = await store.chatLog.get(chatId, seq);
    const entries: InboxEntry[] = [];
    const notices: OutgoingRecord[] = [];
    for (const recipient of undelivered) {
      entries.push(
        statusEntry(
          senderUserId,
          {
            chatId,
            fromSeq: seq,
            upToSeq: seq,
            status: 'FAILED',
            byUserId: direct ? null : recipient.userId,
            changedAtMs: now,
          },
          // Always names the recipient: in a direct chat too, one FAILED per (message, recipient).
          `st:${chatId}:FAILED:${seq}:${recipient.userId}`,
        ),
      );
      const notice: DeliveryFailed = {
        chatId,
        seq,
        senderUserId,
        recipientUserId: recipient.userId,
        sentAtMs: deadline.sentAtMs,
        failedAtMs: now,
        failAfterMs: settings.failAfterMs,
        // The deadline row does not keep the event; the chat log row is the message itself.
        messageEvent: row?.payload ?? null,
      };
      notices.push({ key: chatId, value: await codec.encode(noticeSubject, notice) });
    }
    await sendInboxEntries(bus, codec, entries);
    await bus.producer.send(FAILED_NOTICES_TOPIC, notices);
    return undelivered.length;
  }

  return {
    async sweep(now = clock()) {
      const current = Math.floor(now / settings.deadlineBucketMs);
      let bucketsSwept = 0;
      let deadlinesChecked = 0;
      let failed = 0;
      let errors = 0;
      for (let shard = 0; shard < DEADLINE_SHARDS; shard++) {
        let cursor = await store.receipts.sweepCursor(shard);
        if (cursor === null) {
          // First sweep ever: start at the current bucket (nothing recorded can be due before it).
          if (await store.receipts.claimSweep(shard, null, current)) continue;
          cursor = await store.receipts.sweepCursor(shard);
        }
        // Process first, then move the cursor past the bucket (compare-and-set): an instance that dies
        // mid-bucket leaves the cursor where it was, so the bucket is swept again (at least once). Two
        // instances sweeping the same bucket at the same moment both send its FAILED updates; the inbox
        // sequencer's dedupe keys make the sender see each once (the dead-letter topic may hold two).
        shardLoop: while (cursor !== null && cursor < current) {
          const bucket = cursor;
          const due = await store.receipts.deadlinesIn(shard, bucket);
          for (const deadline of due) {
            try {
              failed += await retry(() => check(deadline, now), CHECK_RETRY, { shouldRetry: () => true });
            } catch (error) {
              errors++;
              logger.error(
                { err: error, chatId: deadline.chatId, seq: deadline.seq, shard, bucket },
                'a due delivery deadline could not be checked; the shard stops here and retries at the next sweep',
              );
              break shardLoop;
            }
            deadlinesChecked++;
          }
          bucketsSwept++;
          cursor = (await store.receipts.claimSweep(shard, bucket, bucket + 1))
            ? bucket + 1
            : await store.receipts.sweepCursor(shard); // another instance moved it meanwhile
        }
      }
      if (failed > 0) logger.info({ failed, bucketsSwept }, 'messages undelivered past the limit became FAILED');
      return { bucketsSwept, deadlinesChecked, failed, errors };
    },
  };
}
