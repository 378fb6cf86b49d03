import { defineConfigSection, defineVariable, parsers } from '@chatmesh/config';

/** Presence's own settings, under `config.sections.presence` (the device limit is `DEVICES_CONFIG`). */
export const PRESENCE_CONFIG = defineConfigSection({
  description: 'presence: online / last seen notices, presence subscriptions, the device list and typing relay',
  variables: {
    sweepIntervalMs: defineVariable({
      env: 'CHATMESH_PRESENCE_SWEEP_INTERVAL_MS',
      description:
        'How often the sweeper re-checks users announced online, so that a gateway that died without OFFLINE events turns its users offline for their watchers (about half the gateway lease TTL).',
      schema: parsers.integer(10, 3_600_000),
      noun: 'interval',
      expected: 'an integer 10-3600000 (ms)',
      default: 15_000,
    }),
    sweepBatch: defineVariable({
      env: 'CHATMESH_PRESENCE_SWEEP_BATCH',
      description: 'Users one sweeper claims and checks per registry round trip.',
      schema: parsers.integer(1, 100_000),
      noun: 'count',
      expected: 'an integer 1-100000',
      default: 1_000,
    }),
    subscriptionTtlMs: defineVariable({
      env: 'CHATMESH_PRESENCE_SUBSCRIPTION_TTL_MS',
      description:
        "How long a device's presence subscription lives without being renewed (a new subscribe overwrites it; the device's OFFLINE drops it).",
      schema: parsers.integer(1_000, 30 * 24 * 3_600_000),
      noun: 'duration',
      expected: 'an integer 1000-2592000000 (ms)',
      default: 24 * 3_600_000,
    }),
    maxSubscriptionTargets: defineVariable({
      env: 'CHATMESH_PRESENCE_MAX_SUBSCRIPTION_TARGETS',
      description: 'Users one device may watch at once; targets past it are ignored.',
      schema: parsers.integer(1, 10_000),
      noun: 'count',
      expected: 'an integer 1-10000',
      default: 512,
    }),
    membershipCacheMs: defineVariable({
      env: 'CHATMESH_PRESENCE_MEMBERSHIP_CACHE_MS',
      description:
        "How long presence reuses a chat's member list and a user's chat list (who may see whom, who gets typing); 0 reads the store every time.",
      schema: parsers.integer(0, 60_000),
      noun: 'duration',
      expected: 'an integer 0-60000 (ms)',
      default: 1_000,
    }),
    typingPerMinute: defineVariable({
      env: 'CHATMESH_PRESENCE_TYPING_PER_MINUTE',
      description:
        'Typing indicators relayed per minute for one user in one chat (token bucket refill; a stop after a start always passes).',
      schema: parsers.integer(1, 6_000),
      noun: 'rate',
      expected: 'an integer 1-6000',
      default: 30,
    }),
    typingBurst: defineVariable({
      env: 'CHATMESH_PRESENCE_TYPING_BURST',
      description: 'Typing indicators relayed at once for one user in one chat (token bucket size).',
      schema: parsers.integer(1, 1_000),
      noun: 'burst',
      expected: 'an integer 1-1000',
      default: 3,
    }),
    offlineGraceMs: defineVariable({
      env: 'CHATMESH_PRESENCE_OFFLINE_GRACE_MS',
      description:
        'How long a user whose last device went away still shows online to watchers: a reconnect within it (a flaky network, an app restart, a page reload) produces no notice at all. 0 announces offline at once. Watchers see offline between this and 1.5 times it.',
      schema: parsers.integer(0, 600_000),
      noun: 'grace period',
      expected: 'an integer 0-600000 (ms)',
      default: 5_000,
    }),
    noticesPerWatcherPerSecond: defineVariable({
      env: 'CHATMESH_PRESENCE_NOTICES_PER_WATCHER_PER_SECOND',
      description:
        'Online/offline notices one watcher device gets per second from one presence process (token bucket refill); above it, notices wait and only the latest state of each subject is sent (a flapping contact costs a watcher at most this).',
      schema: parsers.integer(1, 100_000),
      noun: 'rate',
      expected: 'an integer 1-100000',
      default: 20,
    }),
    noticesPerWatcherBurst: defineVariable({
      env: 'CHATMESH_PRESENCE_NOTICES_PER_WATCHER_BURST',
      description:
        'Online/offline notices one watcher device may get at once from one presence process (token bucket size).',
      schema: parsers.integer(1, 100_000),
      noun: 'burst',
      expected: 'an integer 1-100000',
      default: 40,
    }),
    partitionsConcurrently: defineVariable({
      env: 'CHATMESH_PRESENCE_PARTITIONS_CONCURRENTLY',
      description:
        'presence.events and ephemeral partitions one presence process works on at once (each); order holds within each.',
      schema: parsers.integer(1, 256),
      noun: 'count',
      expected: 'an integer 1-256',
      default: 4,
    }),
    keyPrefix: defineVariable({
      env: 'CHATMESH_PRESENCE_KEY_PREFIX',
      description:
        'Prefix of the Redis keys of presence subscriptions and the announced-online set (stack mode; embedded mode keeps them in memory).',
      schema: parsers.identifier(),
      noun: 'prefix',
      expected: '1-120 of [A-Za-z0-9._-]',
      default: 'chatmesh.watch',
    }),
  },
});
