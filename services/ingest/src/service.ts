import { ATTACHMENT_CONFIG, openObjectStore } from '@chatmesh/attachments';
import { getConfigSection } from '@chatmesh/config';
import { createMetrics } from '@chatmesh/metrics';
import { CORE_PATH_RETRY, ServiceStatus, ensureTopics, type ServiceModule } from '@chatmesh/runtime';
import { TOPICS, type ChatCommand } from '@chatmesh/schemas';
import { WriterEpochs } from '@chatmesh/store';
import { CHAT_LOG_WRITER, createCommandProcessor, type CommandOutcome } from './command-processor.js';
import { INGEST_CONFIG } from './ingest-config.js';
import { INGEST_METRICS, recordCommand } from './metrics.js';

/** The consumer group of every ingest instance: one owner per chat.commands partition, so per chat. */
export const INGEST_GROUP_ID = 'chatmesh.ingest';

/**
 * The ingest service: the single writer of each chat. It consumes `chat.commands` (keyed by chat id, so
 * one instance owns a chat at a time), checks membership, limits and rate, dedupes on the sender's
 * client message id, assigns the chat's next sequence number, stores each event once in the chat log,
 * emits it on `chat.events` and answers the sending device through its gateway's delivery topic.
 */
export const ingestService: ServiceModule = {
  name: 'ingest',
  description:
    'Single writer of each chat: validates, authorizes, dedupes and sequences chat commands, stores each message once and emits chat events',
  consumes: [TOPICS.chatCommands.name],
  produces: [TOPICS.chatEvents.name, 'gateway.<id>.deliveries'],
  config: { ingest: INGEST_CONFIG, attachments: ATTACHMENT_CONFIG },
  metrics: INGEST_METRICS,
  async start(deps) {
    const settings = getConfigSection(deps.config, 'ingest', INGEST_CONFIG);
    const metrics = createMetrics(deps.registry, INGEST_METRICS);
    const topics = await ensureTopics(deps.bus, deps.codec, [TOPICS.chatCommands, TOPICS.chatEvents]);
    const attachmentSettings = getConfigSection(deps.config, 'attachments', ATTACHMENT_CONFIG);
    // Ingest only inspects objects (HEAD) to check the references a message carries; it never signs URLs.
    const objects = await openObjectStore(attachmentSettings);
    const attachments = {
      objects,
      metadata: deps.store.attachments,
      claimWindowMs: attachmentSettings.claimWindowMs,
    };
    const processor = createCommandProcessor(
      { ...deps, attachments },
      {
        sendRatePerSecond: settings.sendRatePerSecond,
        sendBurst: settings.sendBurst,
      },
    );
    // One epoch per ownership of a chat.commands partition: the fencing token of the chat log's single writer.
    const epochs = new WriterEpochs(deps.store.writerEpochs, CHAT_LOG_WRITER);
    const status = new ServiceStatus();
    const counts = { accepted: 0, duplicates: 0, rejected: 0, batches: 0 };
    const count = (command: ChatCommand, outcome: CommandOutcome): void => {
      recordCommand(metrics, command, outcome, Date.now());
      if (!outcome.accepted) counts.rejected++;
      else if (outcome.duplicate) counts.duplicates++;
      else counts.accepted++;
    };
    const subscription = await deps.typed.subscribe({
      groupId: INGEST_GROUP_ID,
      topics: [TOPICS.chatCommands.name],
      retry: CORE_PATH_RETRY,
      partitionsConcurrently: settings.partitionsConcurrently,
      // One chat's commands stay in order (the single-writer rule is per chat); different chats overlap.
      keyConcurrency: settings.keyConcurrency,
      // The chat event and the answer commit with the offset, or never (a fenced zombie): the chat log's rows are
      // plain writes, so this fence, not a Paxos round per message, is what keeps a zombie's appends unseen.
      transactional: true,
      handler: async (command, _record, context) => {
        const epoch = await epochs.epochFor(context.assignmentId, context.confirmOwnership);
        count(command, await processor.process(command, { epoch, out: deps.typed.sinkFor(context) }));
        metrics.ingestBatchSizeCommands.observe(1);
      },
      // A command that keeps failing is parked in chat.commands.dlq; its device hears so instead of waiting.
      lastWords: (command, _error, sink) => processor.answerFailed(command, sink),
      // A busy chat's waiting commands together: one key read, one batched append and one staged output per batch,
      // so one chat is no longer limited to one command per store round trip.
      maxBatchPerKey: settings.maxBatchPerChat,
      batchHandler: async (items, context) => {
        const epoch = await epochs.epochFor(context.assignmentId, context.confirmOwnership);
        const outcomes = await processor.processBatch(
          items.map((item) => item.value),
          { epoch, out: deps.typed.sinkFor(context) },
        );
        outcomes.forEach((outcome, i) => count(items[i]!.value, outcome));
        metrics.ingestBatchSizeCommands.observe(items.length);
        counts.batches++;
      },
    });
    status.readyWhen(subscription.ready);
    return {
      name: 'ingest',
      stop: () =>
        status.stop(async () => {
          await subscription.stop();
          await objects.close();
        }),
      health: () => status.health({ topics, assignment: subscription.assignment(), ...counts }),
    };
  },
};
