import { ChatmeshError } from '@chatmesh/errors';
import type { LogEntry, SequencedLogStore } from './types.js';

/** What {@link appendOnce} reports. */
export interface AppendOutcome {
  readonly entry: LogEntry;
  /** False when the idempotency key had already been appended: the original entry is returned. */
  readonly created: boolean;
}

/** What to append: the entry without its sequence number, whose payload may depend on that number. */
export type AppendDraft = Omit<LogEntry, 'seq' | 'payload'> & {
  readonly payload: Buffer | ((seq: number) => Buffer | Promise<Buffer>);
};

/** Caches the head of each stream a single writer owns, so an append costs one conditional insert. */
export class StreamHeads {
  readonly #heads = new Map<string, number>();
  get(streamId: string): number | undefined {
    return this.#heads.get(streamId);
  }
  set(streamId: string, seq: number): void {
    this.#heads.set(streamId, seq);
  }
  /** Forget a stream, e.g. when its partition is revoked: the next owner must recover from the store. */
  forget(streamId: string): void {
    this.#heads.delete(streamId);
  }
  clear(): void {
    this.#heads.clear();
  }
}

/**
 * Appends an entry to a stream exactly once per idempotency key, at the stream's next sequence number.
 *
 * Correct under redelivery, crashes between any two writes, and a zombie writer still running after
 * its partition moved: the row insert is conditional (IF NOT EXISTS), so a sequence number is never
 * reused and never left as a gap; a key whose row exists but whose key index was not yet written (a
 * crash in between) is found by the forward probe from the head hint, which repairs the index before
 * any new sequence number is handed out.
 *
 * @throws ChatmeshError CM_ERR_STORE_CONTENTION when the stream keeps moving under us (two live writers).
 */
export async function appendOnce(
  log: SequencedLogStore,
  heads: StreamHeads,
  draft: AppendDraft,
  maxConflicts = 16,
): Promise<AppendOutcome> {
  const { streamId, idempotencyKey } = draft;
  const knownSeq = await log.findKey(streamId, idempotencyKey);
  if (knownSeq !== null) {
    const existing = await log.get(streamId, knownSeq);
    if (existing) return { entry: existing, created: false };
  }
  for (let conflicts = 0; conflicts <= maxConflicts; conflicts++) {
    let head = heads.get(streamId);
    if (head === undefined) {
      const recovered = await recoverHead(log, streamId, idempotencyKey);
      if (recovered.found) return { entry: recovered.found, created: false };
      head = recovered.head;
    }
    const seq = head + 1;
    const { payload, ...rest } = draft;
    // The payload may embed its own sequence number (a ChatEvent carries `seq`), so it is built per attempt.
    const entry: LogEntry = { ...rest, seq, payload: typeof payload === 'function' ? await payload(seq) : payload };
    const result = await log.insertIfAbsent(entry);
    if (result.applied) {
      heads.set(streamId, entry.seq);
      // The key index and the head hint follow the row: a crash here is repaired by recoverHead.
      await log.putKey(streamId, idempotencyKey, entry.seq);
      await log.raiseHead(streamId, entry.seq);
      return { entry, created: true };
    }
    if (result.existing.idempotencyKey === idempotencyKey) {
      heads.set(streamId, entry.seq);
      await log.putKey(streamId, idempotencyKey, entry.seq);
      return { entry: result.existing, created: false };
    }
    // Someone else wrote this sequence number (a zombie, or our cache was stale): recover and retry.
    heads.forget(streamId);
  }
  throw new ChatmeshError('CM_ERR_STORE_CONTENTION', `Stream ${streamId} kept changing under its writer`, {
    context: { streamId, idempotencyKey },
  });
}

/**
 * Finds the true head of a stream: starts at the hint and probes forward over rows written after it
 * (by a writer that crashed before raising the hint), repairing their key index on the way.
 */
async function recoverHead(
  log: SequencedLogStore,
  streamId: string,
  idempotencyKey: string,
): Promise<{ head: number; found: LogEntry | null }> {
  let head = await log.getHead(streamId);
  let found: LogEntry | null = null;
  for (;;) {
    const beyond = await log.readAfter(streamId, head, 100);
    if (beyond.length === 0) break;
    for (const entry of beyond) {
      await log.putKey(streamId, entry.idempotencyKey, entry.seq);
      if (entry.idempotencyKey === idempotencyKey) found = entry;
      head = entry.seq;
    }
    await log.raiseHead(streamId, head);
  }
  return { head, found };
}
