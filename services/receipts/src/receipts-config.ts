import { defineConfigSection, defineVariable, parsers } from '@chatmesh/config';

const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;

/** The receipts service's own settings, under `config.sections.receipts`. */
export const RECEIPTS_CONFIG = defineConfigSection({
  description: 'receipts: delivered / read pointers, message states (ticks) and the FAILED deadline sweep',
  variables: {
    failAfterMs: defineVariable({
      env: 'CHATMESH_RECEIPTS_FAIL_AFTER_MS',
      description:
        'A message still undelivered to a recipient this long after it was stored becomes FAILED for that recipient (the sender is told and a DeliveryFailed notice goes to receipts.failed).',
      schema: parsers.integer(100, 365 * 24 * 60 * 60 * 1000),
      noun: 'duration',
      expected: 'an integer 100-31536000000 (milliseconds)',
      default: THIRTY_DAYS_MS,
    }),
    deadlineBucketMs: defineVariable({
      env: 'CHATMESH_RECEIPTS_DEADLINE_BUCKET_MS',
      description:
        'Width of a delivery-deadline bucket (one Cassandra partition per shard and bucket, swept as a whole): FAILED fires up to one bucket plus one sweep interval after the deadline.',
      schema: parsers.integer(100, 24 * 60 * 60 * 1000),
      noun: 'duration',
      expected: 'an integer 100-86400000 (milliseconds)',
      default: 60_000,
    }),
    sweepIntervalMs: defineVariable({
      env: 'CHATMESH_RECEIPTS_SWEEP_INTERVAL_MS',
      description:
        'How often each receipts instance looks for due deadline buckets (instances race for each bucket; one wins).',
      schema: parsers.integer(50, 60 * 60 * 1000),
      noun: 'duration',
      expected: 'an integer 50-3600000 (milliseconds)',
      default: 10_000,
    }),
    perMemberMaxGroup: defineVariable({
      env: 'CHATMESH_RECEIPTS_PER_MEMBER_MAX_GROUP',
      description:
        "Groups up to this many members get per-member status updates (byUserId set) besides the aggregate; larger groups get the aggregate only, to keep the sender's inbox small.",
      schema: parsers.integer(0, 100_000),
      noun: 'count',
      expected: 'an integer 0-100000',
      default: 256,
    }),
    scanLimit: defineVariable({
      env: 'CHATMESH_RECEIPTS_SCAN_LIMIT',
      description:
        'Most chat-log entries one report reads to find the senders of the messages it covers; a longer jump keeps only its newest part (senders of older messages in the jump get no update from it).',
      schema: parsers.integer(1, 100_000),
      noun: 'count',
      expected: 'an integer 1-100000',
      default: 2_000,
    }),
    partitionsConcurrently: defineVariable({
      env: 'CHATMESH_RECEIPTS_PARTITIONS_CONCURRENTLY',
      description:
        'receipts (and chat.events, for deadlines) partitions one process works on at once; order holds within each.',
      schema: parsers.integer(1, 256),
      noun: 'count',
      expected: 'an integer 1-256',
      default: 4,
    }),
    keyConcurrency: defineVariable({
      env: 'CHATMESH_RECEIPTS_KEY_CONCURRENCY',
      description:
        "Records of different chats handled at once within one receipts (and chat.events, for deadlines) partition (key-ordered concurrency); one chat's records stay strictly in order. 1 handles a partition one record at a time.",
      schema: parsers.integer(1, 1024),
      noun: 'count',
      expected: 'an integer 1-1024',
      default: 16,
    }),
  },
});
