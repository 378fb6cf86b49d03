import { getConfigSection } from '@chatmesh/config';
import { createMetrics } from '@chatmesh/metrics';
import { CORE_PATH_RETRY, ServiceStatus, ensureTopics, type ServiceModule } from '@chatmesh/runtime';
import { isBranch, TOPICS } from '@chatmesh/schemas';
import { WriterEpochs } from '@chatmesh/store';
import { createEventExpander } from './event-expander.js';
import { FAN_OUT_CONFIG } from './fan-out-config.js';
import { createInboxSequencer, INBOX_LOG_WRITER, type SequencedOutcome } from './inbox-sequencer.js';
import { countBroadcastPushes, FAN_OUT_METRICS, recordExpansion, recordSequenced } from './metrics.js';
import { RecentPayloads } from './recent-payloads.js';

/** The group that expands chat events (one owner per chat.events partition, so per chat). */
export const FAN_OUT_GROUP_ID = 'chatmesh.fan-out';
/** The group that sequences inboxes (one owner per user.inbox partition, so one writer per user). */
export const INBOX_SEQUENCER_GROUP_ID = 'chatmesh.inbox-sequencer';

/**
 * The fan-out service, two stages in one process:
 * - expansion: each `chat.events` record becomes one `user.inbox` record per recipient (the members at
 *   the event's sequence number, plus users a removal concerns), keyed by user id; or, for a broadcast chat
 *   (one that reached `CHATMESH_FAN_OUT_BROADCAST_THRESHOLD` members, for good), one `chat.broadcast` record
 *   that every gateway reads, inbox records only for the users a membership change adds or removes, and
 *   coalesced wake-up pushes for the offline members;
 * - the inbox sequencer: the single writer of each user's inbox appends the entry once with the next
 *   per-user sequence number, then routes it to the delivery topic of each online device's gateway (from
 *   the presence registry) or, when the user has no device online, to `push.requests`.
 */
export const fanOutService: ServiceModule = {
  name: 'fan-out',
  description:
    'Expands chat events into one inbox entry per recipient user, sequences each user inbox and routes entries to gateways or push',
  consumes: [TOPICS.chatEvents.name, TOPICS.userInbox.name],
  produces: [TOPICS.userInbox.name, TOPICS.chatBroadcast.name, 'gateway.<id>.deliveries', TOPICS.pushRequests.name],
  config: { fanOut: FAN_OUT_CONFIG },
  metrics: FAN_OUT_METRICS,
  async start(deps) {
    const settings = getConfigSection(deps.config, 'fanOut', FAN_OUT_CONFIG);
    const metrics = createMetrics(deps.registry, FAN_OUT_METRICS);
    const topics = await ensureTopics(deps.bus, deps.codec, [
      TOPICS.chatEvents,
      TOPICS.chatBroadcast,
      TOPICS.userInbox,
      TOPICS.pushRequests,
    ]);
    const expander = createEventExpander({
      ...deps,
      broadcast: { threshold: settings.broadcastThreshold, pushWindowMs: settings.broadcastPushWindowMs },
    });
    countBroadcastPushes(metrics, () => expander.broadcastPushes);
    const payloads = settings.payloadCacheBytes > 0 ? new RecentPayloads(settings.payloadCacheBytes) : undefined;
    const sequencer = createInboxSequencer({ ...deps, devices: deps.presence, ...(payloads ? { payloads } : {}) });
    // One epoch per ownership of a user.inbox partition: the fencing token of the inbox's single writer.
    const epochs = new WriterEpochs(deps.store.writerEpochs, INBOX_LOG_WRITER);
    // broadcast: events written once to chat.broadcast (broadcast chats); the rest went through inboxes.
    const counts = { events: 0, broadcast: 0, inboxEntries: 0, replays: 0, delivered: 0, pushed: 0 };
    const count = (outcome: SequencedOutcome): void => {
      recordSequenced(metrics, outcome);
      counts.inboxEntries++;
      if (!outcome.created) counts.replays++;
      counts.delivered += outcome.deliveredTo.length;
      if (outcome.pushed) counts.pushed++;
    };
    const status = new ServiceStatus();
    const expansion = await deps.typed.subscribe({
      groupId: FAN_OUT_GROUP_ID,
      topics: [TOPICS.chatEvents.name],
      retry: CORE_PATH_RETRY,
      partitionsConcurrently: settings.partitionsConcurrently,
      // Keyed by chat: one chat's events in order (its member cache follows them); different chats overlap.
      keyConcurrency: settings.keyConcurrency,
      // Not for fencing (expansion's only write, a chat's broadcast mark, is idempotent, and so are its outputs
      // downstream) but so that the handler stages its inbox and broadcast records and returns, instead of waiting
      // ~a produce round trip per event on the shared producer.
      transactional: true,
      handler: async (event, record, context) => {
        const expanded = await expander.expand(event, {
          sink: deps.typed.sinkFor(context),
          // Forwarded as is to chat.broadcast: ingest's bytes already carry the wire format and schema id.
          value: record.value,
          assignmentId: context.assignmentId,
        });
        recordExpansion(metrics, expanded);
        counts.events++;
        if (expanded.broadcast) counts.broadcast++;
        // Inbox entries of this message follow: their deliveries render from these bytes (ingest's chat-log row).
        else if (payloads && record.value && isBranch(event.event, 'chatmesh.chat.MessageReceived'))
          payloads.put(event.chatId, event.seq, record.value);
      },
    });
    const sequencing = await deps.typed.subscribe({
      groupId: INBOX_SEQUENCER_GROUP_ID,
      topics: [TOPICS.userInbox.name],
      retry: CORE_PATH_RETRY,
      partitionsConcurrently: settings.partitionsConcurrently,
      // Keyed by user: one writer per inbox and its entries in order; different users overlap.
      keyConcurrency: settings.keyConcurrency,
      // Deliveries and pushes commit with the offset, or never (a fenced zombie): inbox rows are plain writes.
      transactional: true,
      handler: async (entry, _record, context) => {
        const epoch = await epochs.epochFor(context.assignmentId, context.confirmOwnership);
        count(await sequencer.sequence(entry, { epoch, out: deps.typed.sinkFor(context) }));
      },
      // A busy inbox's waiting entries together (a user in many active chats, a device catching up): one presence
      // lookup, one batched append and one staged output per batch instead of per entry.
      maxBatchPerKey: settings.maxBatchPerUser,
      batchHandler: async (items, context) => {
        const epoch = await epochs.epochFor(context.assignmentId, context.confirmOwnership);
        const outcomes = await sequencer.sequenceBatch(
          items.map((item) => item.value),
          { epoch, out: deps.typed.sinkFor(context) },
        );
        for (const outcome of outcomes) count(outcome);
      },
    });
    status.readyWhen(expansion.ready, sequencing.ready);
    return {
      name: 'fan-out',
      stop: () =>
        status.stop(async () => {
          // The expander's push timers after its subscription: no handler starts a new one meanwhile.
          await Promise.all([expansion.stop().finally(() => expander.stop()), sequencing.stop()]);
        }),
      health: () => status.health({ topics, ...counts, broadcastPushes: expander.broadcastPushes }),
    };
  },
};
