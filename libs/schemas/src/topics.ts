/**
 * The topic table: every topic chatmesh uses, its partitions, key, value subject and schema, cleanup
 * policy and dead-letter twin. Subjects follow Confluent's TopicNameStrategy (`<topic>-value`), so each
 * topic has exactly one value schema; topics that carry several kinds of record use one top-level record
 * with a union field.
 */
import type { TopicSpec } from '@chatmesh/bus';
import { ChatmeshError } from '@chatmesh/errors';
import type { RecordName } from './__generated__/index.js';
import type { TopicTypeRow } from './internal/codegen.js';

/** What a topic's records are keyed by (as a plain string); it decides who is the single writer. */
export type TopicKeyKind = 'chatId' | 'userId';

/**
 * One row of the topic table. `N` and `S` keep the literal name and schema of a row, so `TOPICS.chatEvents.name`
 * is `'chat.events'` and typed producers and consumers can look its record type up in {@link TopicRecordTypes}.
 */
export interface TopicDefinition<N extends string = string, S extends RecordName = RecordName> {
  readonly name: N;
  readonly partitions: number;
  readonly keyKind: TopicKeyKind;
  /** `<name>-value` (TopicNameStrategy). */
  readonly valueSubject: string;
  /** Full name of the top-level Avro record of the values. */
  readonly valueSchema: S;
  readonly cleanupPolicy: 'delete' | 'compact';
  /** Retention of `delete` topics. Undefined keeps the broker's default (7 days). */
  readonly retentionMs?: number;
  /** The dead-letter twin's name; null for a twin itself. */
  readonly deadLetterTopic: string | null;
}

/** Schema full name of every dead-letter twin's values. */
export const DEAD_LETTER_SCHEMA = 'chatmesh.bus.DeadLetter' satisfies RecordName;

/** Suffix of dead-letter twins (`chat.events.dlq`). */
export const DEAD_LETTER_SUFFIX = '.dlq';

/** Dead letters stay for inspection and replay for 30 days. */
const DEAD_LETTER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const ONE_DAY_MS = 24 * 60 * 60 * 1000;
const ONE_HOUR_MS = 60 * 60 * 1000;
const GATEWAY_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** The value subject of a topic (TopicNameStrategy). */
export function valueSubjectOf(topic: string): string {
  return `${topic}-value`;
}

/** The dead-letter twin of a topic. */
export function deadLetterTopicOf(topic: string): DeadLetterTopicName {
  return `${topic}${DEAD_LETTER_SUFFIX}`;
}

function topic<N extends string, S extends RecordName>(
  name: N,
  partitions: number,
  keyKind: TopicKeyKind,
  valueSchema: S,
  extra: { retentionMs?: number } = {},
): TopicDefinition<N, S> {
  return Object.freeze({
    name,
    partitions,
    keyKind,
    valueSubject: valueSubjectOf(name),
    valueSchema,
    cleanupPolicy: 'delete' as const,
    ...extra,
    deadLetterTopic: deadLetterTopicOf(name),
  });
}

/**
 * The fixed topics. Partition counts bound the parallelism of each consumer group; keys keep a chat's
 * (or a user's) records in one partition so its single writer sees them in order.
 */
export const TOPICS = Object.freeze({
  /** Client commands for ingest, keyed by chat: one writer per chat (docs/architecture.md, "Shape"). */
  chatCommands: topic('chat.commands', 12, 'chatId', 'chatmesh.chat.ChatCommand'),
  /** Facts ingest stored, in chat sequence order. */
  chatEvents: topic('chat.events', 12, 'chatId', 'chatmesh.chat.ChatEvent'),
  /**
   * Events of broadcast chats (big groups), keyed by chat: fan-out writes each once and every gateway reads
   * all of it, so a group message costs one record per gateway instead of one inbox row per member. A day
   * of retention: a gateway that falls behind further resumes its sessions from the chat log instead.
   */
  chatBroadcast: topic('chat.broadcast', 12, 'chatId', 'chatmesh.chat.ChatEvent', { retentionMs: ONE_DAY_MS }),
  /** One entry per recipient user; the per-user sequencer is the single writer of a user's inbox. */
  userInbox: topic('user.inbox', 12, 'userId', 'chatmesh.inbox.InboxEntry'),
  /** Delivered / read reports, keyed by chat so receipts owns a chat's pointers. */
  receipts: topic('receipts', 6, 'chatId', 'chatmesh.receipts.ReceiptReport'),
  /**
   * FAILED notices: one per (message, recipient) still undelivered at its deadline, written by receipts' deadline
   * sweeper for people and tools to inspect. A topic of their own: nothing failed in the server, so they are not
   * dead letters (before, they rode on `receipts.dlq`). Kept as long as dead letters.
   */
  deliveryFailures: topic('receipts.failed', 6, 'chatId', 'chatmesh.receipts.DeliveryFailed', {
    retentionMs: DEAD_LETTER_RETENTION_MS,
  }),
  /** Device connection changes for the presence registry. */
  presenceEvents: topic('presence.events', 6, 'userId', 'chatmesh.presence.PresenceEvent', { retentionMs: ONE_DAY_MS }),
  /** Typing indicators: never stored, so an hour of retention is plenty. */
  ephemeral: topic('ephemeral', 6, 'chatId', 'chatmesh.ephemeral.EphemeralEvent', { retentionMs: ONE_HOUR_MS }),
  /** Wake-ups for offline devices. */
  pushRequests: topic('push.requests', 6, 'userId', 'chatmesh.push.PushRequest', { retentionMs: ONE_DAY_MS }),
  /**
   * Push channel registrations and removals, keyed by user: the push service is the single writer of the channel
   * table. Kept a week: a push instance that was down for days still applies every registration.
   */
  pushRegistrations: topic('push.registrations', 6, 'userId', 'chatmesh.push.PushChannelCommand', {
    retentionMs: 7 * ONE_DAY_MS,
  }),
} satisfies Record<string, TopicDefinition>);

/** The name of any gateway's delivery topic. */
export type GatewayDeliveriesTopicName = `gateway.${string}.deliveries`;

/** The name of any dead-letter twin. */
export type DeadLetterTopicName = `${string}${typeof DEAD_LETTER_SUFFIX}`;

/** Partitions of each gateway's delivery topic (one gateway consumes all of them). */
export const GATEWAY_DELIVERY_PARTITIONS = 4;

/**
 * The delivery topic of one gateway, `gateway.<gatewayId>.deliveries`, keyed by userId.
 * @throws ChatmeshError CM_ERR_SCHEMA_TOPIC_NAME_INVALID when the id is not 1-100 of `[A-Za-z0-9_-]`
 * (a dot would make topic names ambiguous).
 */
export function gatewayDeliveriesTopic(
  gatewayId: string,
): TopicDefinition<GatewayDeliveriesTopicName, 'chatmesh.gateway.GatewayDelivery'> {
  if (!GATEWAY_ID.test(gatewayId)) {
    throw new ChatmeshError(
      'CM_ERR_SCHEMA_TOPIC_NAME_INVALID',
      `gateway id ${JSON.stringify(gatewayId)} must be 1-100 characters of [A-Za-z0-9_-]`,
      { context: { gatewayId } },
    );
  }
  return topic(
    `gateway.${gatewayId}.deliveries` as const,
    GATEWAY_DELIVERY_PARTITIONS,
    'userId',
    'chatmesh.gateway.GatewayDelivery',
    {
      retentionMs: ONE_DAY_MS,
    },
  );
}

/** The dead-letter twin of a topic definition: same key, values are DeadLetter envelopes. */
export function deadLetterTwinOf(
  definition: TopicDefinition,
): TopicDefinition<DeadLetterTopicName, typeof DEAD_LETTER_SCHEMA> {
  const name = deadLetterTopicOf(definition.name);
  return Object.freeze({
    name,
    // One partition: dead letters are rare and read by people and replay tools, in failure order.
    partitions: 1,
    keyKind: definition.keyKind,
    valueSubject: valueSubjectOf(name),
    valueSchema: DEAD_LETTER_SCHEMA,
    cleanupPolicy: 'delete' as const,
    retentionMs: DEAD_LETTER_RETENTION_MS,
    deadLetterTopic: null,
  });
}

/**
 * The rows codegen turns into {@link TopicRecordTypes}: every fixed topic, and the two families of names (gateway
 * delivery topics and dead-letter twins) as template patterns.
 */
export function topicTypeRows(): TopicTypeRow[] {
  return [
    ...Object.values(TOPICS).map((definition) => ({
      topic: definition.name,
      pattern: false,
      valueSchema: definition.valueSchema,
    })),
    { topic: 'gateway.${string}.deliveries', pattern: true, valueSchema: 'chatmesh.gateway.GatewayDelivery' },
    { topic: '${string}.dlq', pattern: true, valueSchema: DEAD_LETTER_SCHEMA },
  ];
}

/** Options of {@link topicDefinitions} and {@link topicSpecs}. */
export interface TopicTableOptions {
  /** Gateways whose delivery topics to include. @default [] */
  readonly gatewayIds?: readonly string[];
  /** Include every topic's dead-letter twin. @default true */
  readonly deadLetterTwins?: boolean;
}

/** Every topic (fixed ones, the given gateways' delivery topics, and their twins), in a stable order. */
export function topicDefinitions(options: TopicTableOptions = {}): TopicDefinition[] {
  const main = [...Object.values(TOPICS), ...(options.gatewayIds ?? []).map(gatewayDeliveriesTopic)];
  if (options.deadLetterTwins === false) return main;
  return [...main, ...main.map(deadLetterTwinOf)];
}

/** The bus {@link TopicSpec}s to create for {@link topicDefinitions}. */
export function topicSpecs(options: TopicTableOptions = {}): TopicSpec[] {
  return topicDefinitions(options).map((definition) => ({
    name: definition.name,
    partitions: definition.partitions,
    cleanupPolicy: definition.cleanupPolicy,
    ...(definition.retentionMs === undefined ? {} : { retentionMs: definition.retentionMs }),
  }));
}

/**
 * The table row of any topic name: fixed topics, any `gateway.<id>.deliveries`, and any twin.
 * Returns undefined for names chatmesh does not use.
 */
export function findTopic(name: string): TopicDefinition | undefined {
  if (name.endsWith(DEAD_LETTER_SUFFIX)) {
    const original = findTopic(name.slice(0, -DEAD_LETTER_SUFFIX.length));
    return original === undefined || original.deadLetterTopic === null ? undefined : deadLetterTwinOf(original);
  }
  const fixed = Object.values(TOPICS).find((definition) => definition.name === name);
  if (fixed !== undefined) return fixed;
  const gateway = /^gateway\.([A-Za-z0-9_-]{1,100})\.deliveries$/.exec(name);
  return gateway?.[1] === undefined ? undefined : gatewayDeliveriesTopic(gateway[1]);
}

/**
 * The schema full name of a value subject (`<topic>-value` of any topic {@link findTopic} knows).
 * @throws ChatmeshError CM_ERR_SCHEMA_UNKNOWN_SUBJECT for any other subject.
 */
export function schemaNameForSubject(subject: string): RecordName {
  const definition = subject.endsWith('-value') ? findTopic(subject.slice(0, -'-value'.length)) : undefined;
  if (definition === undefined) {
    throw new ChatmeshError('CM_ERR_SCHEMA_UNKNOWN_SUBJECT', `no topic of the table has the value subject ${subject}`, {
      context: { subject },
    });
  }
  return definition.valueSchema;
}
