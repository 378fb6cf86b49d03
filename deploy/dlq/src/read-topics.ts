import { randomUUID } from 'node:crypto';
import type { Bus, BusRecord } from '@chatmesh/bus';
import { DlqError } from './errors.js';

/** Prefix of the throwaway consumer groups the tool reads with. */
export const READER_GROUP_PREFIX = 'chatmesh-dlq-reader-';

/** Options of {@link readToEnd}. */
export interface ReadToEndOptions {
  /** Give up when the topics are not read to their end within this long. */
  readonly timeoutMs: number;
  /** Called with the throwaway group once its member left, to delete it (Kafka); errors are ignored. */
  readonly forgetGroup?: (groupId: string) => Promise<void>;
}

/**
 * Reads every record of `topics` from the beginning up to their end as it was when the call started
 * (the high watermarks), in a throwaway consumer group (`chatmesh-dlq-reader-<uuid>`) that no service
 * uses, so no service group's offsets move. Topics with nothing to read are not subscribed at all.
 * Records come back ordered by topic (as given), partition and offset.
 *
 * With `forgetGroup` (the CLI passes a Kafka admin's deleteGroups) the group and its offsets are deleted
 * afterwards; without, Kafka would keep them until `offsets.retention.minutes` (7 days by default).
 * @throws DlqError `CM_ERR_DLQ_READ_TIMEOUT` when the end is not reached within `timeoutMs`.
 */
export async function readToEnd(bus: Bus, topics: readonly string[], options: ReadToEndOptions): Promise<BusRecord[]> {
  const ends = new Map<string, bigint>();
  const toRead: string[] = [];
  for (const topic of topics) {
    for (const { partition, low, high } of await bus.admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) <= BigInt(low)) continue;
      ends.set(`${topic}\u0000${partition}`, BigInt(high));
      if (!toRead.includes(topic)) toRead.push(topic);
    }
  }
  if (toRead.length === 0) return [];

  const records: BusRecord[] = [];
  const pending = new Set(ends.keys());
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const groupId = `${READER_GROUP_PREFIX}${randomUUID()}`;
  const subscription = await bus.subscribe({
    groupId,
    topics: toRead,
    fromBeginning: true,
    retry: { maxAttempts: 1 },
    // The handler never throws, so nothing is ever dead-lettered; the bus still wants an existing twin
    // for a topic that is not itself a `.dlq` (a marker topic), and the topic itself is one.
    deadLetter: {
      encode: () => Promise.reject(new DlqError('CM_ERR_DLQ_BAD_ENVELOPE', 'the dlq reader never dead-letters')),
      topicFor: (topic) => topic,
    },
    handler: async (record) => {
      const slot = `${record.topic}\u0000${record.partition}`;
      const end = ends.get(slot);
      if (end === undefined) return;
      const offset = BigInt(record.offset);
      if (offset < end) records.push(record);
      if (offset + 1n >= end && pending.delete(slot) && pending.size === 0) finish();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new DlqError(
                'CM_ERR_DLQ_READ_TIMEOUT',
                `could not read ${toRead.join(', ')} to the end within ${options.timeoutMs} ms (${pending.size} partition(s) behind)`,
                { context: { topics: toRead, timeoutMs: options.timeoutMs } },
              ),
            ),
          options.timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await subscription.stop();
    await options.forgetGroup?.(groupId).catch(() => undefined);
  }
  const order = new Map(topics.map((topic, index) => [topic, index]));
  return records.sort(
    (a, b) =>
      (order.get(a.topic) ?? 0) - (order.get(b.topic) ?? 0) ||
      a.partition - b.partition ||
      (BigInt(a.offset) < BigInt(b.offset) ? -1 : BigInt(a.offset) > BigInt(b.offset) ? 1 : 0),
  );
}
