import { defineConfigSection, defineVariable, parsers } from '@chatmesh/config';

/** Fan-out's own settings, under `config.sections.fanOut`. */
export const FAN_OUT_CONFIG = defineConfigSection({
  description:
    'fan-out: expansion of chat events into inbox entries (or one chat.broadcast record for big groups) and the per-user inbox sequencer',
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
    maxBatchPerUser: defineVariable({
      env: 'CHATMESH_FAN_OUT_MAX_BATCH_PER_USER',
      description:
        "Inbox entries of one user that waited behind each other sequenced as one batch at most (one presence lookup, one batched append, one staged output). 1 sequences one user's entries one at a time.",
      schema: parsers.integer(1, 1024),
      noun: 'count',
      expected: 'an integer 1-1024',
      default: 64,
    }),
    payloadCacheBytes: defineVariable({
      env: 'CHATMESH_FAN_OUT_PAYLOAD_CACHE_BYTES',
      description:
        "Bytes of recent messages' chat-log payloads kept from the expansion for the inbox sequencer, which then renders their deliveries without reading the chat log (a miss reads it). 0 turns the cache off.",
      schema: parsers.integer(0, 1 << 30),
      noun: 'bytes',
      expected: 'an integer number of bytes, 0-1073741824',
      default: 16 << 20,
    }),
    broadcastThreshold: defineVariable({
      env: 'CHATMESH_FAN_OUT_BROADCAST_THRESHOLD',
      description:
        'Members at which a chat becomes a broadcast chat, for good (sticky, even if it shrinks later): from the event after the one that reached it, each event is written once to `chat.broadcast` (every gateway delivers it to its own connected members) instead of one `user.inbox` entry per member. 0 turns no further chat into a broadcast chat (those marked before stay broadcast: their devices follow them from the chat log).',
      schema: parsers.integer(0, 100_000),
      noun: 'count',
      expected: 'an integer 0-100000',
      default: 100,
    }),
    broadcastPushWindowMs: defineVariable({
      env: 'CHATMESH_FAN_OUT_BROADCAST_PUSH_WINDOW_MS',
      description:
        "Wake-up pushes of a broadcast chat's messages are coalesced per chat: at most one scan of its offline members per window, each push counting the messages since the previous one; a message inside the window is pushed when the window ends. 0 scans at every message.",
      schema: parsers.integer(0, 3_600_000),
      noun: 'duration',
      expected: 'an integer number of milliseconds, 0-3600000',
      default: 10_000,
    }),
  },
});
