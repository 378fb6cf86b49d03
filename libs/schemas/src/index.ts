/**
 * @chatmesh/schemas: the Avro schemas of every topic record (kept in the repository's `schemas/`), the
 * topic table, the TypeScript types generated from the schemas, the compatibility check, and the
 * Confluent-framed codec in two implementations: {@link createRegistryCodec} against a
 * Confluent-compatible registry and {@link createLocalCodec} for embedded mode.
 */
export type { SchemaCodec, DecodedValue } from './codec-types.js';
export * from './__generated__/index.js';
export type { EmbeddedSchemaVersion, SchemaHistory } from './schema-history-types.js';
export {
  TOPICS,
  GATEWAY_DELIVERY_PARTITIONS,
  DEAD_LETTER_SCHEMA,
  DEAD_LETTER_SUFFIX,
  gatewayDeliveriesTopic,
  deadLetterTopicOf,
  deadLetterTwinOf,
  valueSubjectOf,
  topicDefinitions,
  topicSpecs,
  findTopic,
  schemaNameForSubject,
  topicTypeRows,
  type TopicDefinition,
  type GatewayDeliveriesTopicName,
  type DeadLetterTopicName,
  type TopicKeyKind,
  type TopicTableOptions,
} from './topics.js';
export {
  branchNameOf,
  branchValue,
  isBranch,
  matchBranch,
  unhandledBranch,
  type BranchName,
  type BranchValue,
  type BranchHandlers,
} from './unions.js';
export type { TopicName, TopicRecord } from './topic-names.js';
export { TOPIC_KEY_SUMMARIES, TOPIC_SUMMARIES } from './topic-docs.js';
export { avscOptions, latestSchemaOf, latestTypeOf, schemaVersionsOf } from './schema-catalog.js';
export {
  loadSchemaTree,
  fullNameOf,
  SCHEMAS_DIR,
  type AvroSchemaJson,
  type SchemaVersionFile,
} from './schema-files.js';
export { checkSchemaHistory, checkReaderCanRead, type CompatibilityProblem } from './compatibility.js';
export { MAGIC_BYTE, HEADER_BYTES, frameValue, parseFrame } from './wire-format.js';
export { SchemaEncodeError, SchemaDecodeError, SchemaRegistryError, type DecodeFailure } from './errors.js';
export type { FramedSchemaCodec } from './internal/framed-codec.js';
export { LocalSchemaRegistry, type LocalRegisteredSchema } from './local-schema-registry.js';
export { createLocalCodec, type LocalCodecOptions } from './local-codec.js';
export { createRegistryCodec, type RegistryCodecOptions } from './registry-codec.js';
