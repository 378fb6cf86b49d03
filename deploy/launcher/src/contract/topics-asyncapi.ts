/**
 * The AsyncAPI 3.0 document of the Kafka topics (docs/asyncapi.json), generated from the topic table, the current
 * Avro schemas and the services' own `consumes` / `produces` declarations. Nothing in it is written by hand: a topic,
 * a schema or a service's declaration that changes changes the document, and a test fails until it is regenerated.
 */
import type { ServiceModule } from '@chatmesh/runtime';
import {
  DEAD_LETTER_SCHEMA,
  deadLetterTwinOf,
  GATEWAY_DELIVERY_PARTITIONS,
  gatewayDeliveriesTopic,
  latestSchemaOf,
  TOPIC_KEY_SUMMARIES,
  TOPIC_SUMMARIES,
  TOPICS,
  type TopicDefinition,
} from '@chatmesh/schemas';
import { ASYNCAPI_VERSION, type JsonObject } from './json.js';

/** How the documents embed Avro schemas (AsyncAPI's Avro schema format). */
export const AVRO_SCHEMA_FORMAT = 'application/vnd.apache.avro;version=1.9.0';
const KAFKA_BINDING_VERSION = '0.5.0';
/** How services name the per-gateway delivery topic in their declarations. */
const GATEWAY_DELIVERIES_DECLARED = 'gateway.<id>.deliveries';
/** The id a gateway's topic is built with to read its row (the address carries `{gatewayId}` instead). */
const SAMPLE_GATEWAY_ID = 'gatewayId';

/** One channel: a row of the topic table, or its dead-letter twin. */
interface TopicChannel {
  readonly id: string;
  readonly address: string;
  readonly definition: TopicDefinition;
  readonly summary: string;
  /** The channel whose failures it parks (twins only). */
  readonly twinOf?: string;
}

/** `chatmesh.chat.ChatCommand` → `ChatCommand` (the message id; record names are unique across namespaces). */
function messageIdOf(schema: string): string {
  return schema.slice(schema.lastIndexOf('.') + 1);
}

/** Every channel: the fixed topics, the per-gateway delivery topic as a parameterized address, then every twin. */
function topicChannels(): TopicChannel[] {
  const main: TopicChannel[] = [
    ...Object.entries(TOPICS).map(([id, definition]) => ({
      id,
      address: definition.name,
      definition,
      summary: TOPIC_SUMMARIES[id as keyof typeof TOPICS],
    })),
    {
      id: 'gatewayDeliveries',
      address: 'gateway.{gatewayId}.deliveries',
      definition: gatewayDeliveriesTopic(SAMPLE_GATEWAY_ID),
      summary: TOPIC_SUMMARIES.gatewayDeliveries,
    },
  ];
  const twins = main.map((channel) => ({
    id: `${channel.id}DeadLetters`,
    address: `${channel.address}.dlq`,
    definition: deadLetterTwinOf(channel.definition),
    summary: `Dead letters of ${channel.address}: records its consumers could not decode or kept failing on, with the error; replayed with \`npm run dlq\`.`,
    twinOf: channel.id,
  }));
  return [...main, ...twins];
}

/** The channel a service's declared topic name refers to. @throws Error for a name outside the topic table */
function channelIdOfDeclared(channels: readonly TopicChannel[], declared: string): string {
  const address = declared === GATEWAY_DELIVERIES_DECLARED ? 'gateway.{gatewayId}.deliveries' : declared;
  const twin = address.endsWith('.dlq');
  const found = channels.find((channel) => channel.address === address && (channel.twinOf !== undefined) === twin);
  if (found === undefined) throw new Error(`a service declares topic ${declared}, which is not in the topic table`);
  return found.id;
}

function channelOf(channel: TopicChannel): JsonObject {
  const { definition } = channel;
  const messageId = messageIdOf(definition.valueSchema);
  return {
    address: channel.address,
    title: channel.address,
    summary: channel.summary,
    messages: { [messageId]: { $ref: `#/components/messages/${messageId}` } },
    ...(channel.address.includes('{gatewayId}')
      ? {
          parameters: { gatewayId: { description: "The gateway's id (CHATMESH_GATEWAY_ID): 1-100 of [A-Za-z0-9_-]." } },
        }
      : {}),
    bindings: {
      kafka: {
        ...(channel.address.includes('{') ? {} : { topic: channel.address }),
        partitions: definition.partitions,
        topicConfiguration: {
          'cleanup.policy': [definition.cleanupPolicy],
          ...(definition.retentionMs === undefined ? {} : { 'retention.ms': definition.retentionMs }),
        },
        bindingVersion: KAFKA_BINDING_VERSION,
      },
    },
  };
}

/** The message of every value schema: its Avro schema embedded as it is, keyed by the channel's key kind. */
function messagesOf(channels: readonly TopicChannel[]): JsonObject {
  const messages: JsonObject = {};
  for (const { definition } of channels) {
    const id = messageIdOf(definition.valueSchema);
    if (messages[id] !== undefined) continue;
    // Twins keep their topic's key, so DeadLetter's key is whatever the original record had.
    const keys = [
      ...new Set(
        channels.filter((c) => c.definition.valueSchema === definition.valueSchema).map((c) => c.definition.keyKind),
      ),
    ];
    messages[id] = {
      name: definition.valueSchema,
      title: id,
      contentType: 'application/octet-stream',
      description:
        "Confluent's wire format: byte 0 is 0, bytes 1-4 the schema id in the registry (subject `<topic>-value`), then " +
        'the Avro binary body.',
      payload: { schemaFormat: AVRO_SCHEMA_FORMAT, schema: latestSchemaOf(definition.valueSchema) as JsonObject },
      bindings: {
        kafka: {
          key: {
            type: 'string',
            description:
              definition.valueSchema === DEAD_LETTER_SCHEMA
                ? 'The original record key, as it was.'
                : keys.map((kind) => TOPIC_KEY_SUMMARIES[kind]).join(' / '),
          },
          schemaIdLocation: 'payload',
          schemaIdPayloadEncoding: 'confluent',
          schemaLookupStrategy: 'TopicNameStrategy',
          bindingVersion: KAFKA_BINDING_VERSION,
        },
      },
    };
  }
  return messages;
}

/** `delivery-gateway` → `deliveryGateway`. */
function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function operation(
  action: 'send' | 'receive',
  service: string,
  channel: TopicChannel,
  summary: string,
): [string, JsonObject] {
  const messageId = messageIdOf(channel.definition.valueSchema);
  const id = `${camel(service)}${action === 'send' ? 'Sends' : 'Receives'}${channel.id[0]!.toUpperCase()}${channel.id.slice(1)}`;
  return [
    id,
    {
      action,
      channel: { $ref: `#/channels/${channel.id}` },
      title: `${service} ${action === 'send' ? 'produces to' : 'consumes'} ${channel.address}`,
      summary,
      tags: [{ name: service }],
      messages: [{ $ref: `#/channels/${channel.id}/messages/${messageId}` }],
    },
  ];
}

/**
 * Each service's declared topics as operations (send = produces, receive = consumes), and for every consumed topic
 * a send to its twin: the runtime parks what a consumer cannot handle there. The operator's `npm run dlq` reads
 * every twin.
 */
function operationsOf(channels: readonly TopicChannel[], services: readonly ServiceModule[]): JsonObject {
  const byId = new Map(channels.map((channel) => [channel.id, channel]));
  const entries: Array<[string, JsonObject]> = [];
  for (const service of services) {
    const consumed = service.consumes.map((name) => byId.get(channelIdOfDeclared(channels, name))!);
    const produced = service.produces.map((name) => byId.get(channelIdOfDeclared(channels, name))!);
    for (const channel of consumed) entries.push(operation('receive', service.name, channel, service.description));
    for (const channel of produced) entries.push(operation('send', service.name, channel, service.description));
    for (const channel of consumed) {
      const twin = channels.find((c) => c.twinOf === channel.id)!;
      if (produced.includes(twin)) continue;
      entries.push(operation('send', service.name, twin, `Parks the ${channel.address} records it cannot handle.`));
    }
  }
  for (const twin of channels.filter((channel) => channel.twinOf !== undefined)) {
    entries.push(
      operation('receive', 'dlq', twin, 'The operator tool `npm run dlq -- list / show / replay` (deploy/dlq).'),
    );
  }
  return Object.fromEntries(entries);
}

/** The AsyncAPI document of every topic, for these services (the six by default, as the launcher runs them). */
export function buildTopicsAsyncApi(services: readonly ServiceModule[]): JsonObject {
  const channels = topicChannels();
  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'chatmesh Kafka topics',
      version: '1',
      description:
        'Every topic of chatmesh, its key, its Avro value schema (the current version; older ones stay readable, ' +
        'schemas/), its dead-letter twin, and which service produces and consumes it. Generated from the topic ' +
        'table (@chatmesh/schemas), the schemas and the service modules by `npm run docs:contract -w ' +
        '@chatmesh/launcher`. Per-gateway topics are `gateway.{gatewayId}.deliveries` with ' +
        `${GATEWAY_DELIVERY_PARTITIONS} partitions. Embedded mode runs the same topics on an in-process bus.`,
    },
    defaultContentType: 'application/octet-stream',
    channels: Object.fromEntries(channels.map((channel) => [channel.id, channelOf(channel)])),
    operations: operationsOf(channels, services),
    components: { messages: messagesOf(channels) },
  };
}
