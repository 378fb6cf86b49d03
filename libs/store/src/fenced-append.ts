import { ChatmeshError } from '@chatmesh/errors';
import type { LogEntry, SequencedLogStore, WriterEpochStore } from './types.js';

/** What {@link appendFenced} reports. */
export interface AppendOutcome {
  readonly entry: LogEntry;
  /** False when the idempotency key had already been appended: the original entry is returned. */
  readonly created: boolean;
}

/** What to append: the entry without its sequence number, whose payload may depend on that number. */
export type AppendDraft = Omit<LogEntry, 'seq' | 'payload'> & {
  readonly payload: Buffer | ((seq: number) => Buffer | Promise<Buffer>);
  /**
   * The caller looked the idempotency key up itself just before (and found no row holding it), so the append
   * skips that read. @default false
   */
  readonly keyChecked?: boolean;
};

/**
 * How often the head hint is raised: recovery probes at most this many rows past it, in one read. Sparse, so an append
 * costs no write beyond its rows: rows expire (LogRetention) but the written head kept beside them never does
 * ({@link SequencedLogStore.highestWritten}), so a hint that lagged behind rows that then expired cannot make the next
 * owner reuse their numbers.
 */
export const HEAD_HINT_EVERY = 64;

/**
 * The head of each stream as its single writer knows it, valid only under the epoch it was learned in: after a
 * new claim (a new ownership of the partition) every stream is recovered from the store again, so a head cached
 * in an earlier ownership can never be trusted after another writer may have appended.
 */
export class FencedHeads {
  readonly #heads = new Map<string, { epoch: number; seq: number }>();
  readonly #maxStreams: number;
  /** @param maxStreams streams remembered at once (least recently used ones are recovered again). @default 100000 */
  constructor(maxStreams = 100_000) {
    this.#maxStreams = maxStreams;
  }
  get(streamId: string, epoch: number): number | undefined {
    const known = this.#heads.get(streamId);
    return known?.epoch === epoch ? known.seq : undefined;
  }
  set(streamId: string, epoch: number, seq: number): void {
    this.#heads.delete(streamId);
    this.#heads.set(streamId, { epoch, seq });
    if (this.#heads.size > this.#maxStreams) this.#heads.delete(this.#heads.keys().next().value!);
  }
  clear(): void {
    this.#heads.clear();
  }
}

/**
 * Appends an entry to a stream exactly once per idempotency key, at the stream's next sequence number, with plain
 * writes: no consensus round per row.
 *
 * It relies on single-writer ownership with fencing: the caller owns the stream's Kafka partition, claimed `epoch`
 * for that ownership ({@link WriterEpochs}) and confirmed it still owned the partition after the claim, and
 * publishes what it appended only through a transaction the bus fences. Then:
 * - a zombie (an older owner still running) writes with a lower epoch, so its rows lose to the owner's at the same
 *   sequence number whatever order they land in, and its outputs never become visible;
 * - rows a zombie wrote before the owner recovered the stream are found by the forward probe and adopted; a key
 *   index that points at a row holding another key (the zombie's row was overwritten) counts as absent;
 * - a crash between the row and its key index is repaired by the forward probe before a new number is handed out.
 * So a sequence number is never reused for two published entries and never skipped.
 */
export async function appendFenced(
  log: SequencedLogStore,
  heads: FencedHeads,
  draft: AppendDraft,
  epoch: number,
): Promise<AppendOutcome> {
  const { streamId, idempotencyKey, keyChecked, ...fields } = draft;
  const knownSeq = keyChecked ? null : await log.findKey(streamId, idempotencyKey);
  if (knownSeq !== null) {
    const existing = await log.get(streamId, knownSeq);
    if (existing && existing.idempotencyKey === idempotencyKey) {
      // A row a zombie wrote past our recovered head and whose record came back to us: adopt it, never overwrite.
      const head = heads.get(streamId, epoch);
      if (head !== undefined && existing.seq > head) heads.set(streamId, epoch, existing.seq);
      return { entry: existing, created: false };
    }
  }
  let head = heads.get(streamId, epoch);
  if (head === undefined) {
    const recovered = await recoverHead(log, streamId, new Set([idempotencyKey]), epoch);
    heads.set(streamId, epoch, recovered.head);
    const found = recovered.found.get(idempotencyKey);
    if (found) return { entry: found, created: false };
    head = recovered.head;
  }
  const seq = head + 1;
  const { payload, ...rest } = fields;
  // The payload may embed its own sequence number (a ChatEvent carries `seq`).
  const entry: LogEntry = {
    ...rest,
    streamId,
    idempotencyKey,
    seq,
    payload: typeof payload === 'function' ? await payload(seq) : payload,
  };
  // Row and key index together: a key whose row is missing (a crash in between) counts as absent (see above).
  await Promise.all([log.write(entry, epoch), log.putKey(streamId, idempotencyKey, seq, epoch)]);
  heads.set(streamId, epoch, seq);
  // Only ever raised to a row that is durable (after its write), so the hint never names a row that is missing.
  if (seq % HEAD_HINT_EVERY === 0) await log.raiseHead(streamId, seq);
  return { entry, created: true };
}

/**
 * {@link appendFenced} for several entries of one stream at once (consecutive records of one key, handed over
 * together by the bus): one read of their keys, one batched write of the new rows and their keys, whatever the
 * number of entries. Same guarantees as appending them one after the other in order; an idempotency key that
 * appears twice in the batch is appended once (the second draft gets the first's entry, `created: false`). Not
 * atomic: if it throws, any subset may be written, which the next attempt (or the forward probe) adopts as it would
 * after a crash.
 * @throws ChatmeshError `CM_ERR_STORE_INVALID_ARGUMENT` when the drafts are of different streams
 */
export async function appendFencedBatch(
  log: SequencedLogStore,
  heads: FencedHeads,
  drafts: readonly AppendDraft[],
  epoch: number,
): Promise<AppendOutcome[]> {
  if (drafts.length === 0) return [];
  if (drafts.length === 1) return [await appendFenced(log, heads, drafts[0]!, epoch)];
  const streamId = drafts[0]!.streamId;
  if (drafts.some((draft) => draft.streamId !== streamId)) {
    throw new ChatmeshError('CM_ERR_STORE_INVALID_ARGUMENT', 'appendFencedBatch takes the drafts of one stream', {
      context: { streamId },
    });
  }
  const unchecked = [...new Set(drafts.filter((draft) => !draft.keyChecked).map((draft) => draft.idempotencyKey))];
  const known = unchecked.length > 0 ? await log.findKeys(streamId, unchecked) : new Map<string, number>();
  const stored = new Map<string, LogEntry>();
  await Promise.all(
    [...known].map(async ([key, seq]) => {
      const existing = await log.get(streamId, seq);
      // A key whose row holds another key (a zombie's row was overwritten) counts as absent.
      if (existing?.idempotencyKey === key) stored.set(key, existing);
    }),
  );
  let head: number;
  const cached = heads.get(streamId, epoch);
  if (cached !== undefined) {
    head = cached;
    // Rows a zombie wrote past our head and whose records came back to us: adopt them, never overwrite.
    for (const entry of stored.values()) if (entry.seq > head) head = entry.seq;
  } else {
    const recovered = await recoverHead(log, streamId, new Set(drafts.map((draft) => draft.idempotencyKey)), epoch);
    for (const [key, entry] of recovered.found) stored.set(key, entry);
    head = recovered.head;
  }
  heads.set(streamId, epoch, head);
  const before = head;
  const fresh: LogEntry[] = [];
  const outcomes: AppendOutcome[] = [];
  for (const draft of drafts) {
    const { streamId: _stream, idempotencyKey, keyChecked: _checked, payload, ...rest } = draft;
    const prior = stored.get(idempotencyKey);
    if (prior) {
      outcomes.push({ entry: prior, created: false });
      continue;
    }
    const seq: number = head + 1;
    const entry: LogEntry = {
      ...rest,
      streamId,
      idempotencyKey,
      seq,
      payload: typeof payload === 'function' ? await payload(seq) : payload,
    };
    head = seq;
    fresh.push(entry);
    stored.set(idempotencyKey, entry);
    outcomes.push({ entry, created: true });
  }
  if (fresh.length === 0) return outcomes;
  await log.writeBatch(fresh, epoch);
  heads.set(streamId, epoch, head);
  if (Math.floor(head / HEAD_HINT_EVERY) > Math.floor(before / HEAD_HINT_EVERY)) await log.raiseHead(streamId, head);
  return outcomes;
}

/**
 * The highest sequence written to a stream, for readers (no probe, no repair): the head hint or the written head kept
 * beside the rows, whichever is higher. A row missing at or below it was written and expired (or, briefly, is being
 * overwritten by a newer owner); rows of a writer that crashed mid-batch may sit past it until the next append.
 */
export async function writtenHeadOf(log: SequencedLogStore, streamId: string): Promise<number> {
  const hint = await log.getHead(streamId);
  return Math.max(hint, await log.highestWritten(streamId, hint));
}

/**
 * Finds the true head of a stream: starts at the hint and probes forward over rows written after it (by a writer
 * that crashed, or a zombie), repairing their key index on the way. Returns the rows found there holding `wanted` keys.
 */
async function recoverHead(
  log: SequencedLogStore,
  streamId: string,
  wanted: ReadonlySet<string>,
  epoch: number,
): Promise<{ head: number; found: Map<string, LogEntry> }> {
  const hint = await log.getHead(streamId);
  const written = log.highestWritten(streamId, hint);
  let head = hint;
  const found = new Map<string, LogEntry>();
  for (;;) {
    const beyond = await log.readAfter(streamId, head, 100);
    if (beyond.length === 0) break;
    await Promise.all(beyond.map((entry) => log.putKey(streamId, entry.idempotencyKey, entry.seq, epoch)));
    for (const entry of beyond) if (wanted.has(entry.idempotencyKey)) found.set(entry.idempotencyKey, entry);
    head = beyond[beyond.length - 1]!.seq;
  }
  // Rows past the hint that expired are not found by the probe; the written head kept beside them remembers them.
  head = Math.max(head, await written);
  if (head > hint) await log.raiseHead(streamId, head);
  return { head, found };
}

/**
 * The writer epoch of each ownership of a partition: claimed once per {@link HandlerContext.assignmentId}-like id,
 * then confirmed against the bus's fence, so a member that claimed late (after a newer owner took over) learns it
 * is a zombie before it writes anything. Claims are made one at a time (they contend on one row).
 */
export class WriterEpochs {
  readonly #claims = new Map<string, Promise<number>>();
  #chain: Promise<unknown> = Promise.resolve();

  /**
   * @param store where epochs are claimed
   * @param name the log whose writers these are ('chat_log', 'inbox_log')
   * @param maxOwnerships ownerships remembered at once @default 4096
   */
  constructor(
    private readonly store: WriterEpochStore,
    private readonly name: string,
    private readonly maxOwnerships = 4096,
  ) {}

  /**
   * The epoch of one ownership, claimed on first use.
   * @param confirmOwnership the bus's check that no newer owner fenced this member, called after the claim
   * @throws whatever the claim or the confirmation throws (a fenced member gets the bus's fencing error)
   */
  epochFor(assignmentId: string, confirmOwnership?: () => Promise<void>): Promise<number> {
    let claim = this.#claims.get(assignmentId);
    if (!claim) {
      const next = this.#chain.then(async () => {
        const epoch = await this.store.claim(this.name);
        await confirmOwnership?.();
        return epoch;
      });
      this.#chain = next.catch(() => undefined);
      claim = next;
      this.#claims.set(assignmentId, claim);
      // A failed claim is forgotten, so the next record of that ownership tries again.
      claim.catch(() => this.#claims.delete(assignmentId));
      if (this.#claims.size > this.maxOwnerships) this.#claims.delete(this.#claims.keys().next().value!);
    }
    return claim;
  }
}
