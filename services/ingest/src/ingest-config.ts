import { defineConfigSection, defineVariable, parsers } from '@chatmesh/config';

/** Ingest's own settings, under `config.sections.ingest`. */
export const INGEST_CONFIG = defineConfigSection({
  description: 'ingest: the single writer of each chat',
  variables: {
    sendRatePerSecond: defineVariable({
      env: 'CHATMESH_INGEST_SEND_RATE_PER_SECOND',
      description: 'Sustained messages per second one user may send in one chat (token bucket refill).',
      schema: parsers.integer(1, 10_000),
      noun: 'rate',
      expected: 'an integer 1-10000',
      default: 20,
    }),
    sendBurst: defineVariable({
      env: 'CHATMESH_INGEST_SEND_BURST',
      description: 'Messages one user may send at once in one chat (token bucket size).',
      schema: parsers.integer(1, 100_000),
      noun: 'burst',
      expected: 'an integer 1-100000',
      default: 40,
    }),
    partitionsConcurrently: defineVariable({
      env: 'CHATMESH_INGEST_PARTITIONS_CONCURRENTLY',
      description: 'chat.commands partitions one ingest process works on at once; order holds within each.',
      schema: parsers.integer(1, 256),
      noun: 'count',
      expected: 'an integer 1-256',
      default: 4,
    }),
    keyConcurrency: defineVariable({
      env: 'CHATMESH_INGEST_KEY_CONCURRENCY',
      description:
        "Commands of different chats handled at once within one chat.commands partition (key-ordered concurrency); one chat's commands stay strictly in order. 1 handles a partition one record at a time.",
      schema: parsers.integer(1, 1024),
      noun: 'count',
      expected: 'an integer 1-1024',
      default: 16,
    }),
    maxBatchPerChat: defineVariable({
      env: 'CHATMESH_INGEST_MAX_BATCH_PER_CHAT',
      description:
        "Commands of one chat that waited behind each other handled as one batch at most (one key read, one batched append, one staged output). 1 handles one chat's commands one at a time.",
      schema: parsers.integer(1, 1024),
      noun: 'count',
      expected: 'an integer 1-1024',
      default: 64,
    }),
  },
});
