import { defineConfigSection, defineVariable, parsers } from '@chatmesh/config';

/** Fan-out's own settings, under `config.sections.fanOut`. */
export const FAN_OUT_CONFIG = defineConfigSection({
  description: 'fan-out: expansion of chat events into inbox entries and the per-user inbox sequencer',
  variables: {
    partitionsConcurrently: defineVariable({
      env: 'CHATMESH_FAN_OUT_PARTITIONS_CONCURRENTLY',
      description:
        'chat.events (expansion) and user.inbox (sequencer) partitions one fan-out process works on at once, each.',
      schema: parsers.integer(1, 256),
      noun: 'count',
      expected: 'an integer 1-256',
      default: 4,
    }),
    keyConcurrency: defineVariable({
      env: 'CHATMESH_FAN_OUT_KEY_CONCURRENCY',
      description:
        "Records of different keys handled at once within one partition (key-ordered concurrency): chats for the expansion, users for the inbox sequencer. One chat's events, and one user's inbox entries, stay strictly in order. 1 handles a partition one record at a time.",
      schema: parsers.integer(1, 1024),
      noun: 'count',
      expected: 'an integer 1-1024',
      default: 16,
    }),
  },
});
