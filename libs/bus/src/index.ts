/**
 * @chatmesh/bus: one event-bus interface with Kafka's semantics and two implementations,
 * {@link createMemoryBus} (in-process) and {@link createKafkaBus} (kafkajs). Both pass the same contract
 * suite, exported from `@chatmesh/bus/testing`.
 */
export type * from './types.js';
export { BusError, type BusErrorContext } from './errors.js';
export { partitionForKey, murmur2 } from './partitioner.js';
export { createMemoryBus, MEMORY_BUS_DEFAULTS, type MemoryBusOptions } from './memory/memory-bus.js';
export type { MemoryRetention } from './memory/memory-log.js';
export { SUBSCRIBE_DEFAULTS, defaultDeadLetterTopic } from './internal/subscribe-options.js';
export {
  DEAD_LETTER_ERROR_CODE_HEADER,
  LEGACY_DEAD_LETTER_ERROR_CODE_HEADER,
  deadLetterEnvelopeOf,
  deadLetterRecordOf,
  deadLetterErrorCodeOf,
  type DeadLetterFailure,
} from './dead-letter.js';
export { createKafkaBus } from './kafka/kafka-bus.js';
export {
  createNamespacedBus,
  namespacedInstrumentation,
  assertValidNamespace,
  namespacedName,
  stripNamespace,
  NAMESPACE_PATTERN,
} from './namespaced-bus.js';
export {
  KAFKA_BUS_DEFAULTS,
  KAFKA_BUS_PRODUCTION_VALUES,
  compileKafkaBusOptions,
  type KafkaBusOptions,
  type KafkaBusLogEntry,
} from './kafka/kafka-bus-options.js';
export {
  KAFKA_BROKER_ERROR_TABLE,
  KAFKA_CLIENT_ERROR_TABLE,
  toBusError,
  type KafkaErrorMapping,
} from './kafka/kafka-errors.js';
