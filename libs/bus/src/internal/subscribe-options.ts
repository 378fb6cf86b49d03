/**
 * Subscription options from raw (as callers write them) to compiled (defaults applied, validated),
 * shared by both implementations so they behave the same.
 */
import { compileRetryPolicy, type RetryPolicy } from '@chatmesh/errors';
import { BusError } from '../errors.js';
import type { BatchHandler, DeadLetterEnvelope, DeadLetterOptions, RecordHandler, SubscribeOptions } from '../types.js';

/** Defaults of {@link SubscribeOptions}. */
export const SUBSCRIBE_DEFAULTS = Object.freeze({
  fromBeginning: true,
  retry: Object.freeze({ maxAttempts: 5, initialDelayMs: 100 }),
  retryAll: true,
  partitionsConcurrently: 1,
  keyConcurrency: 1,
  transactional: false,
  maxBatchPerKey: 64,
});

/** The dead-letter twin of a topic unless a subscription says otherwise. */
export function defaultDeadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Whether `topic` is itself a dead-letter twin (it gets no twin of its own). */
export function isDeadLetterTopic(topic: string): boolean {
  return topic.endsWith('.dlq');
}

export interface CompiledSubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handler: RecordHandler;
  readonly fromBeginning: boolean;
  readonly retryPolicy: RetryPolicy;
  readonly retryAll: boolean;
  readonly encodeDeadLetter: (envelope: DeadLetterEnvelope) => Promise<Buffer>;
  readonly deadLetterTopicFor: (topic: string) => string;
  readonly deadLetterLastWords: DeadLetterOptions['lastWords'];
  readonly partitionsConcurrently: number;
  readonly keyConcurrency: number;
  readonly transactional: boolean;
  readonly batchHandler: BatchHandler | undefined;
  /** 1 without a batch handler. */
  readonly maxBatchPerKey: number;
  /** Whether records run through the key-ordered scheduler (key concurrency, transactions or batches). */
  readonly keyOrdered: boolean;
}

/** @throws BusError `CM_ERR_BUS_INVALID_OPTIONS` listing every problem. */
export function compileSubscribeOptions(options: SubscribeOptions): CompiledSubscribeOptions {
  const problems: string[] = [];
  if (typeof options.groupId !== 'string' || options.groupId.length === 0)
    problems.push(`groupId must be a non-empty string (got ${JSON.stringify(options.groupId)})`);
  if (!Array.isArray(options.topics) || options.topics.length === 0)
    problems.push('topics must list at least one topic');
  if (typeof options.handler !== 'function') problems.push('handler must be a function');
  if (typeof options.deadLetter?.encode !== 'function')
    problems.push('deadLetter.encode is required: a failing record is never dropped silently');
  const partitionsConcurrently = options.partitionsConcurrently ?? SUBSCRIBE_DEFAULTS.partitionsConcurrently;
  if (!Number.isInteger(partitionsConcurrently) || partitionsConcurrently < 1)
    problems.push(`partitionsConcurrently must be an integer >= 1 (got ${partitionsConcurrently})`);
  const keyConcurrency = options.keyConcurrency ?? SUBSCRIBE_DEFAULTS.keyConcurrency;
  if (!Number.isInteger(keyConcurrency) || keyConcurrency < 1)
    problems.push(`keyConcurrency must be an integer >= 1 (got ${keyConcurrency})`);
  const transactional = options.transactional ?? SUBSCRIBE_DEFAULTS.transactional;
  if (typeof transactional !== 'boolean')
    problems.push(`transactional must be a boolean (got ${String(transactional)})`);
  if (options.batchHandler !== undefined && typeof options.batchHandler !== 'function')
    problems.push('batchHandler must be a function when given');
  const maxBatchPerKey = options.maxBatchPerKey ?? SUBSCRIBE_DEFAULTS.maxBatchPerKey;
  if (!Number.isInteger(maxBatchPerKey) || maxBatchPerKey < 1)
    problems.push(`maxBatchPerKey must be an integer >= 1 (got ${maxBatchPerKey})`);
  if (problems.length > 0) {
    throw new BusError('CM_ERR_BUS_INVALID_OPTIONS', `Invalid subscription: ${problems.join('; ')}`, {
      context: { groupId: options.groupId, problems },
    });
  }
  return Object.freeze({
    groupId: options.groupId,
    topics: Object.freeze([...new Set(options.topics)]),
    handler: options.handler,
    fromBeginning: options.fromBeginning ?? SUBSCRIBE_DEFAULTS.fromBeginning,
    retryPolicy: compileRetryPolicy(options.retry ?? SUBSCRIBE_DEFAULTS.retry),
    retryAll: options.retryAll ?? SUBSCRIBE_DEFAULTS.retryAll,
    encodeDeadLetter: options.deadLetter.encode,
    deadLetterTopicFor: options.deadLetter.topicFor ?? defaultDeadLetterTopic,
    deadLetterLastWords: options.deadLetter.lastWords,
    partitionsConcurrently,
    keyConcurrency,
    transactional,
    batchHandler: options.batchHandler,
    maxBatchPerKey: options.batchHandler ? maxBatchPerKey : 1,
    keyOrdered: keyConcurrency > 1 || transactional || options.batchHandler !== undefined,
  });
}
