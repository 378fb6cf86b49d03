/**
 * ingest + fan-out + receipts in one service group, for the receipts tests and the benchmark: embedded
 * (memory bus, store and presence) or on the real servers (Kafka, the schema registry, Cassandra in a
 * fresh keyspace, Redis). It plays the gateway: produces ChatCommands and ReceiptReports, and reads its
 * own delivery topic (command results, `local:` rejections).
 */
import { randomUUID } from 'node:crypto';
import { createKafkaBus, createMemoryBus, createNamespacedBus, type Bus, type BusRecord } from '@chatmesh/bus';
import { collectRecords } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import { fanOutService } from '@chatmesh/fan-out';
import { ingestService } from '@chatmesh/ingest';
import type { Registry } from '@chatmesh/metrics';
import {
  createMemoryPresenceRegistry,
  createRedisPresenceRegistry,
  type PresenceRegistry,
} from '@chatmesh/presence-registry';
import { directChatId } from '@chatmesh/protocol';
import {
  collectConfigSections,
  createTypedProducer,
  ensureTopics,
  startServiceGroup,
  subscribeTyped,
  type ServiceGroup,
  type TypedProducer,
  silentObservability,
} from '@chatmesh/runtime';
import {
  createLocalCodec,
  createRegistryCodec,
  deadLetterTopicOf,
  gatewayDeliveriesTopic,
  TOPICS,
  type ChatCommand,
  type CommandResult,
  type DeliveryFailed,
  type InboxEntry,
  type MessageStatusUpdate,
  type ReadPointerUpdate,
  type ReceiptKind,
  type ReceiptReport,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { createMigratedCassandraStore, createMemoryStore, type ChatStore } from '@chatmesh/store';
import { randomName, waitFor, type StackEndpoints } from '@chatmesh/testing';

export type { StackEndpoints };
import { receiptsService } from '../../index.js';

export interface ReceiptsHarness {
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  readonly store: ChatStore;
  readonly registry: Registry;
  readonly gatewayId: string;
  readonly group: ServiceGroup;
  /** Every `local:` CommandResult the gateway topic received (rejections of reports). */
  readonly localResults: CommandResult[];
  /** Raw records of receipts.failed (FAILED notices). */
  readonly failedNoticeRecords: BusRecord[];
  createDirect(a: string, b: string): Promise<string>;
  createGroup(creator: string, others: readonly string[]): Promise<string>;
  /** Adds members to a group; returns the addition's chat seq. */
  addMembers(actor: string, chatId: string, userIds: readonly string[]): Promise<number>;
  /** Sends a message and returns its chat seq. */
  send(sender: string, chatId: string, body?: string): Promise<number>;
  /** Produces a report as the gateway does (request id `local:<conn>:<n>` unless given). */
  report(userId: string, chatId: string, kind: ReceiptKind, upToSeq: number, requestId?: string): Promise<string>;
  /** Produces many reports in one producer call. */
  reportMany(reports: readonly ReceiptReport[]): Promise<void>;
  reportValue(userId: string, chatId: string, kind: ReceiptKind, upToSeq: number, requestId?: string): ReceiptReport;
  /** The stored inbox of a user, decoded, in inbox order. */
  inbox(userId: string): Promise<InboxEntry[]>;
  /** The status updates stored in a user's inbox (optionally of one chat), in inbox order. */
  statuses(userId: string, chatId?: string): Promise<MessageStatusUpdate[]>;
  readPointers(userId: string, chatId: string): Promise<ReadPointerUpdate[]>;
  failedNotices(): Promise<DeliveryFailed[]>;
  /** The receipts service's health counters. */
  counters(): Record<string, unknown>;
  close(): Promise<void>;
}

let connection = 0;

/** Starts the harness; `env` goes to the configuration (fail-after, buckets...). */
export async function startReceiptsHarness(
  options: { stack?: StackEndpoints; env?: Record<string, string> } = {},
): Promise<ReceiptsHarness> {
  const { stack } = options;
  const modules = [ingestService, fanOutService, receiptsService];
  const gatewayId = randomName('rcgw').replace(/[^A-Za-z0-9_-]/g, '-');
  const config = loadConfig({
    env: {
      CHATMESH_LOG_LEVEL: 'silent',
      CHATMESH_INGEST_SEND_RATE_PER_SECOND: '10000',
      CHATMESH_INGEST_SEND_BURST: '100000',
      ...options.env,
    },
    sections: collectConfigSections(modules),
  });
  let bus: Bus;
  let codec: SchemaCodec;
  let store: ChatStore;
  let presence: PresenceRegistry;
  if (stack) {
    store = await createMigratedCassandraStore({
      contactPoints: stack.cassandraContactPoints,
      localDataCenter: stack.cassandraLocalDc,
      keyspace: stack.keyspace,
    });
    bus = createNamespacedBus(
      createKafkaBus({ brokers: [...stack.kafkaBrokers], clientId: 'chatmesh-receipts-tests', logLevel: 'nothing' }),
      stack.namespace,
    );
    codec = createRegistryCodec({ url: stack.schemaRegistryUrl, clientId: 'chatmesh-receipts-tests' });
    presence = await createRedisPresenceRegistry({ url: stack.redisUrl });
    // One createTopics call first: a second one through the same admin may fail while the first propagates.
    await waitFor(
      async () => {
        try {
          await bus.admin.createTopics([
            ...Object.values(TOPICS),
            gatewayDeliveriesTopic(gatewayId),
            { name: deadLetterTopicOf(TOPICS.receipts.name), partitions: 1 },
          ]);
          return true;
        } catch {
          return false;
        }
      },
      { description: 'topics created', timeoutMs: 60_000, intervalMs: 500 },
    );
  } else {
    bus = createMemoryBus();
    codec = createLocalCodec();
    store = createMemoryStore();
    presence = createMemoryPresenceRegistry();
  }
  await ensureTopics(bus, codec, [gatewayDeliveriesTopic(gatewayId), ...Object.values(TOPICS)]);
  const observability = silentObservability('receipts-tests');
  const group = await startServiceGroup(modules, {
    config,
    ...observability,
    bus,
    codec,
    store,
    presence,
  });
  await waitFor(() => group.isReady(), {
    description: 'ingest, fan-out and receipts ready',
    timeoutMs: stack ? 120_000 : 10_000,
  });

  const producer: TypedProducer = createTypedProducer(bus, codec);
  const results = new Map<string, CommandResult>();
  const localResults: CommandResult[] = [];
  const gatewayReader = await subscribeTyped({
    bus,
    codec,
    groupId: randomName('rcgw-reader'),
    topics: [gatewayDeliveriesTopic(gatewayId).name],
    handler: async (delivery) => {
      if (!('chatmesh.gateway.CommandResult' in delivery.payload)) return;
      const result = delivery.payload['chatmesh.gateway.CommandResult'];
      results.set(result.requestId, result);
      if (result.requestId.startsWith('local:')) localResults.push(result);
    },
  });
  await gatewayReader.ready;
  const failedNoticeRecords = await collectRecords(bus, TOPICS.deliveryFailures.name);
  const conn = `conn${++connection}`;
  let reportCounter = 0;

  async function command(sender: string, chatId: string, body: ChatCommand['command']): Promise<CommandResult> {
    const requestId = randomUUID();
    await producer.send(TOPICS.chatCommands.name, chatId, {
      chatId,
      origin: { userId: sender, deviceId: `${sender}-phone`, gatewayId, requestId, receivedAtMs: Date.now() },
      traceparent: null,
      command: body,
    });
    await waitFor(() => results.has(requestId), {
      description: `result of ${Object.keys(body)[0]} in ${chatId}`,
      timeoutMs: stack ? 60_000 : 10_000,
    });
    const result = results.get(requestId)!;
    if (!result.accepted) throw new Error(`command rejected: ${JSON.stringify(result.reason)}`);
    return result;
  }

  const decodeInbox = async (userId: string): Promise<InboxEntry[]> => {
    const rows = await store.inboxLog.readAfter(userId, 0, 100_000);
    return Promise.all(rows.map(async (row) => (await codec.decode<InboxEntry>(row.payload)).value));
  };

  const reportValue = (
    userId: string,
    chatId: string,
    kind: ReceiptKind,
    upToSeq: number,
    requestId?: string,
  ): ReceiptReport => ({
    chatId,
    userId,
    deviceId: `${userId}-phone`,
    gatewayId,
    requestId: requestId ?? `local:${conn}:${++reportCounter}`,
    kind,
    upToSeq,
    reportedAtMs: Date.now(),
  });

  return {
    bus,
    codec,
    store,
    registry: observability.registry,
    gatewayId,
    group,
    localResults,
    failedNoticeRecords,
    async createDirect(a, b) {
      const chatId = directChatId(a, b);
      await command(a, chatId, {
        'chatmesh.chat.CreateChat': { kind: 'DIRECT', memberUserIds: [b], name: null, pictureAttachmentId: null },
      });
      return chatId;
    },
    async createGroup(creator, others) {
      const chatId = randomName('grp').replace(/[^A-Za-z0-9_-]/g, '-');
      await command(creator, chatId, {
        'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: [...others], name: 'g', pictureAttachmentId: null },
      });
      return chatId;
    },
    async addMembers(actor, chatId, userIds) {
      return (await command(actor, chatId, { 'chatmesh.chat.AddMembers': { userIds: [...userIds] } })).seq!;
    },
    async send(sender, chatId, body = 'hi') {
      const result = await command(sender, chatId, {
        'chatmesh.chat.SendMessage': {
          afterClientMessageId: null,
          clientMessageId: randomUUID(),
          content: { body, envelopes: [], attachments: [] },
        },
      });
      return result.seq!;
    },
    async report(userId, chatId, kind, upToSeq, requestId) {
      const value = reportValue(userId, chatId, kind, upToSeq, requestId);
      await producer.send(TOPICS.receipts.name, chatId, value);
      return value.requestId;
    },
    async reportMany(reports) {
      const subject = `${TOPICS.receipts.name}-value`;
      const records = await Promise.all(
        reports.map(async (r) => ({ key: r.chatId, value: await codec.encode(subject, r) })),
      );
      await bus.producer.send(TOPICS.receipts.name, records);
    },
    reportValue,
    inbox: decodeInbox,
    async statuses(userId, chatId) {
      return (await decodeInbox(userId))
        .filter((e) => chatId === undefined || e.chatId === chatId)
        .flatMap((e) =>
          'chatmesh.receipts.MessageStatusUpdate' in e.item
            ? [{ ...e.item['chatmesh.receipts.MessageStatusUpdate'] }]
            : [],
        );
    },
    async readPointers(userId, chatId) {
      return (await decodeInbox(userId))
        .filter((e) => e.chatId === chatId)
        .flatMap((e) =>
          'chatmesh.inbox.ReadPointerUpdate' in e.item ? [{ ...e.item['chatmesh.inbox.ReadPointerUpdate'] }] : [],
        );
    },
    async failedNotices() {
      return Promise.all(failedNoticeRecords.map(async (r) => (await codec.decode<DeliveryFailed>(r.value!)).value));
    },
    counters() {
      return { ...(group.health()['receipts']?.details ?? {}) };
    },
    async close() {
      await gatewayReader.stop();
      await group.stop();
      await Promise.allSettled([bus.close(), store.close(), presence.close()]);
    },
  };
}
