/**
 * One record's life in a consumer: handler attempts with the shared `retry` helper, then the
 * dead-letter twin. Both implementations call this, so retries and dead-lettering are identical.
 */
import { ChatmeshError, isChatmeshError, retry } from '@chatmesh/errors';
import { deadLetterEnvelopeOf, deadLetterRecordOf } from '../dead-letter.js';
import { BusError } from '../errors.js';
import type { BatchHandler, BusInstrumentation, BusRecord, HandlerContext, OutgoingRecord } from '../types.js';
import type { CompiledSubscribeOptions } from './subscribe-options.js';

/**
 * `ok` and `dead-lettered` mean the record is done and its offset may be committed.
 * `abandoned` means the member is stopping, lost the partition or crashed while the record was failing:
 * nothing is committed and the next owner receives the record again.
 */
export type ProcessOutcome = 'ok' | 'dead-lettered' | 'abandoned';

/** Records a transactional handler staged, per topic, in the order it staged them. */
export interface StagedOutput {
  readonly topic: string;
  readonly records: readonly OutgoingRecord[];
}

export interface ProcessRecordDeps {
  /** Aborted when the member stops, crashes or loses the partition. */
  readonly signal: AbortSignal;
  readonly produce: (topic: string, record: OutgoingRecord) => Promise<void>;
  readonly instrumentation?: BusInstrumentation | undefined;
  /** {@link HandlerContext.assignmentId} of the record's partition. */
  readonly assignmentId: string;
  /**
   * Transactional subscriptions: receives the outputs of the attempt that succeeded (or the dead letter), to be
   * published atomically with the offset. Outputs of failed attempts are dropped. Undefined: produce directly.
   */
  readonly staged?: StagedOutput[];
  /** {@link HandlerContext.confirmOwnership} (transactional subscriptions). */
  readonly confirmOwnership?: () => Promise<void>;
}

/** Thrown inside the retry loop when the signal is aborted, so no further attempt is made. */
class Abandoned extends Error {}

/**
 * Runs the handler with retries; on final failure writes the envelope to the dead-letter twin.
 * @throws BusError `CM_ERR_BUS_DEAD_LETTER_FAILED` when the envelope cannot be encoded or produced;
 *   the caller must not commit, so the record is redelivered rather than lost.
 */
export async function processRecord(
  record: BusRecord,
  options: CompiledSubscribeOptions,
  deps: ProcessRecordDeps,
): Promise<ProcessOutcome> {
  const { signal, instrumentation } = deps;
  const base = { groupId: options.groupId, topic: record.topic, partition: record.partition };
  let attempts = 0;
  let startedAt = performance.now();
  // Reported once, with the record's first outcome: how long it waited between its producer and this handler.
  let delayMs: number | undefined = Math.max(0, Date.now() - record.timestampMs);
  const takeDelay = (): { delayMs?: number } => {
    const reported = delayMs === undefined ? {} : { delayMs };
    delayMs = undefined;
    return reported;
  };
  try {
    await retry(
      async (attempt) => {
        if (signal.aborted) throw new Abandoned();
        attempts = attempt;
        startedAt = performance.now();
        const attemptOutputs: StagedOutput[] = [];
        await options.handler(record, attemptContext(attempt, options, deps, attemptOutputs));
        // Only the attempt that succeeded publishes: a retried attempt's outputs might disagree with the final ones.
        deps.staged?.push(...attemptOutputs);
      },
      options.retryPolicy,
      {
        shouldRetry: (error) =>
          !(error instanceof Abandoned) && !signal.aborted && shouldRetry(error, options.retryAll),
        onRetry: (error) =>
          instrumentation?.onHandled?.({
            ...base,
            ...takeDelay(),
            durationMs: performance.now() - startedAt,
            outcome: 'retry',
            errorCode: errorCodeOf(error),
          }),
        signal,
      },
    );
    instrumentation?.onHandled?.({ ...base, ...takeDelay(), durationMs: performance.now() - startedAt, outcome: 'ok' });
    return 'ok';
  } catch (thrown) {
    // A member that is going away must not dead-letter: the record was not given its full attempts,
    // and the next owner will try it again from the committed offset.
    if (thrown instanceof Abandoned || signal.aborted) return 'abandoned';
    const error =
      isChatmeshError(thrown, 'CM_ERR_RETRY_EXHAUSTED') && thrown.cause !== undefined ? thrown.cause : thrown;
    const envelope = deadLetterEnvelopeOf(record, {
      groupId: options.groupId,
      errorCode: errorCodeOf(error),
      error,
      attempts,
    });
    const deadLetterTopic = options.deadLetterTopicFor(record.topic);
    const lastWords: StagedOutput[] = [];
    if (options.deadLetterLastWords) {
      await options
        .deadLetterLastWords(record, error, (topic, records) => lastWords.push({ topic, records }))
        .catch(() => lastWords.splice(0));
    }
    try {
      const value = await options.encodeDeadLetter(envelope);
      const deadLetter = deadLetterRecordOf(envelope, value);
      if (deps.staged) deps.staged.push({ topic: deadLetterTopic, records: [deadLetter] }, ...lastWords);
      else {
        await deps.produce(deadLetterTopic, deadLetter);
        for (const words of lastWords) {
          // A courtesy: the dead letter is written, so a failed last word does not redo the record.
          for (const out of words.records) await deps.produce(words.topic, out).catch(() => undefined);
        }
      }
    } catch (cause) {
      throw new BusError(
        'CM_ERR_BUS_DEAD_LETTER_FAILED',
        `Could not dead-letter ${record.topic}[${record.partition}]@${record.offset} to ${deadLetterTopic}`,
        {
          cause,
          context: { ...base, offset: record.offset, deadLetterTopic },
        },
      );
    }
    instrumentation?.onHandled?.({
      ...base,
      ...takeDelay(),
      durationMs: performance.now() - startedAt,
      outcome: 'dead-lettered',
      errorCode: envelope.errorCode,
    });
    return 'dead-lettered';
  }
}

/** The context of one handler attempt; a transactional subscription's outputs are staged into `attemptOutputs`. */
function attemptContext(
  attempt: number,
  options: CompiledSubscribeOptions,
  deps: ProcessRecordDeps,
  attemptOutputs: StagedOutput[],
): HandlerContext {
  return {
    attempt,
    signal: deps.signal,
    groupId: options.groupId,
    assignmentId: deps.assignmentId,
    ...(deps.confirmOwnership ? { confirmOwnership: deps.confirmOwnership } : {}),
    ...(deps.staged
      ? {
          produce: (topic: string, records: readonly OutgoingRecord[]) =>
            void attemptOutputs.push({ topic, records: [...records] }),
        }
      : {}),
  };
}

/**
 * Runs consecutive records of one key: once through the subscription's batch handler when it has one (a batch of
 * one too, so a handler has one code path under load and at rest); if that attempt throws, each record through
 * {@link processRecord}, in order, with its own retries and dead letter. Outputs staged by the failed attempt are
 * dropped.
 * @returns `ok` when every record is done (handled or dead-lettered), `abandoned` when the member is going away
 * @throws BusError `CM_ERR_BUS_DEAD_LETTER_FAILED` as {@link processRecord}
 */
export async function processBatch(
  records: readonly BusRecord[],
  options: CompiledSubscribeOptions,
  deps: ProcessRecordDeps,
): Promise<ProcessOutcome> {
  if (options.batchHandler) {
    const attempted = await attemptBatch(records, options.batchHandler, options, deps);
    if (attempted !== 'failed') return attempted;
  }
  for (const record of records) {
    const outcome = await processRecord(record, options, deps);
    if (outcome === 'abandoned') return 'abandoned';
  }
  return 'ok';
}

async function attemptBatch(
  records: readonly BusRecord[],
  batchHandler: BatchHandler,
  options: CompiledSubscribeOptions,
  deps: ProcessRecordDeps,
): Promise<'ok' | 'failed' | 'abandoned'> {
  const { signal, instrumentation } = deps;
  if (signal.aborted) return 'abandoned';
  const first = records[0]!;
  const base = { groupId: options.groupId, topic: first.topic, partition: first.partition };
  const receivedAt = Date.now();
  const startedAt = performance.now();
  const attemptOutputs: StagedOutput[] = [];
  try {
    await batchHandler(records, attemptContext(1, options, deps, attemptOutputs));
  } catch (error) {
    if (signal.aborted) return 'abandoned';
    // One failed attempt for the batch; each record then reports its own outcome from the one-by-one pass.
    instrumentation?.onHandled?.({
      ...base,
      durationMs: performance.now() - startedAt,
      outcome: 'retry',
      errorCode: errorCodeOf(error),
    });
    return 'failed';
  }
  deps.staged?.push(...attemptOutputs);
  if (instrumentation?.onHandled) {
    const durationMs = performance.now() - startedAt;
    for (const record of records) {
      const delayMs = Math.max(0, receivedAt - record.timestampMs);
      instrumentation.onHandled({ ...base, delayMs, durationMs, outcome: 'ok' });
    }
  }
  return 'ok';
}

/**
 * `retryAll` retries foreign errors (a driver timeout rarely says it is transient) and retriable chatmesh
 * errors; a chatmesh error that declares itself non-retriable (a decode error) is never retried.
 * Without `retryAll`, only errors marked retriable are.
 */
function shouldRetry(error: unknown, retryAll: boolean): boolean {
  if (error instanceof ChatmeshError) return error.retriable;
  return retryAll;
}

function errorCodeOf(error: unknown): string {
  return error instanceof ChatmeshError ? error.code : 'CM_ERR_BUS_HANDLER_FAILED';
}
