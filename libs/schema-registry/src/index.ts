/**
 * @chatmesh/schema-registry: a Confluent-compatible schema registry serving the REST subset that
 * `@kafkajs/confluent-schema-registry` uses, with Confluent's error codes and compatibility levels
 * (checked with avsc), keeping its state like Confluent's KafkaStore in a single-partition compacted
 * `_schemas` topic so any number of instances agree. `src/main.ts` is the process entry.
 */
export {
  startSchemaRegistry,
  type StartSchemaRegistryOptions,
  type RunningSchemaRegistry,
} from './schema-registry-server.js';
export {
  startRegistryHttpServer,
  SCHEMA_REGISTRY_CONTENT_TYPE,
  type RegistryHttpServer,
  type RegistryHttpServerOptions,
} from './http-server.js';
export { SchemaRegistry, type SchemaInput, type SchemaRegistryOptions } from './schema-registry.js';
export type { SubjectVersion } from './registry-state.js';
export {
  COMPATIBILITY_LEVELS,
  DEFAULT_COMPATIBILITY,
  findIncompatibilities,
  isCompatibilityLevel,
  type CompatibilityLevel,
} from './compatibility.js';
export { CONFLUENT_ERRORS, type ConfluentErrorKind, type ConfluentErrorBody } from './confluent-errors.js';
export { RegistryApiError, SchemaStoreError } from './errors.js';
export type { SchemaStore, StoreRecord, SchemaRecord, ConfigRecord } from './store/schema-store.js';
export { MemorySchemaStore } from './store/memory-schema-store.js';
export { KafkaSchemaStore, SCHEMAS_TOPIC, type KafkaSchemaStoreOptions } from './store/kafka-schema-store.js';
export { loadRegistryConfig, type RegistryConfig } from './registry-config.js';
