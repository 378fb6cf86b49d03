/**
 * kafkajs errors → chatmesh codes, as data (like kafkajs `src/protocol/error.js`).
 * Broker errors are matched by their protocol `type`, client errors by the kafkajs class `name`.
 * `retriable: 'kafkajs'` keeps the flag kafkajs computed for that instance.
 */
import type { ErrorCode } from '@chatmesh/errors';
import { BusError, type BusErrorContext } from '../errors.js';

/** One row: which chatmesh code a kafkajs error becomes, and whether the operation may be retried. */
export interface KafkaErrorMapping {
  readonly code: ErrorCode;
  readonly retriable: boolean | 'kafkajs';
}

/** Broker error types (`KafkaJSProtocolError.type`). */
export const KAFKA_BROKER_ERROR_TABLE: Readonly<Record<string, KafkaErrorMapping>> = Object.freeze({
  UNKNOWN_TOPIC_OR_PARTITION: { code: 'CM_ERR_BUS_UNKNOWN_TOPIC', retriable: false },
  REBALANCE_IN_PROGRESS: { code: 'CM_ERR_BUS_REBALANCING', retriable: true },
  ILLEGAL_GENERATION: { code: 'CM_ERR_BUS_REBALANCING', retriable: true },
  UNKNOWN_MEMBER_ID: { code: 'CM_ERR_BUS_REBALANCING', retriable: true },
  FENCED_INSTANCE_ID: { code: 'CM_ERR_BUS_REBALANCING', retriable: true },
  NON_EMPTY_GROUP: { code: 'CM_ERR_BUS_GROUP_ACTIVE', retriable: true },
  NOT_COORDINATOR_FOR_GROUP: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  GROUP_COORDINATOR_NOT_AVAILABLE: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  GROUP_LOAD_IN_PROGRESS: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  NOT_LEADER_FOR_PARTITION: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  LEADER_NOT_AVAILABLE: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  NOT_ENOUGH_REPLICAS: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  NETWORK_EXCEPTION: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  REQUEST_TIMED_OUT: { code: 'CM_ERR_BUS_TIMEOUT', retriable: true },
  TOPIC_AUTHORIZATION_FAILED: { code: 'CM_ERR_BUS_NOT_AUTHORIZED', retriable: false },
  GROUP_AUTHORIZATION_FAILED: { code: 'CM_ERR_BUS_NOT_AUTHORIZED', retriable: false },
  CLUSTER_AUTHORIZATION_FAILED: { code: 'CM_ERR_BUS_NOT_AUTHORIZED', retriable: false },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: { code: 'CM_ERR_BUS_NOT_AUTHORIZED', retriable: false },
  MESSAGE_TOO_LARGE: { code: 'CM_ERR_BUS_RECORD_TOO_LARGE', retriable: false },
  RECORD_LIST_TOO_LARGE: { code: 'CM_ERR_BUS_RECORD_TOO_LARGE', retriable: false },
  INVALID_PARTITIONS: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  INVALID_REPLICATION_FACTOR: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  INVALID_CONFIG: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  INVALID_TOPIC_EXCEPTION: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  INVALID_RECORD: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  INVALID_REQUEST: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  INVALID_REQUIRED_ACKS: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  UNSUPPORTED_VERSION: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  CORRUPT_MESSAGE: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  OFFSET_OUT_OF_RANGE: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  OUT_OF_ORDER_SEQUENCE_NUMBER: { code: 'CM_ERR_BUS_PRODUCER_FENCED', retriable: false },
  INVALID_PRODUCER_EPOCH: { code: 'CM_ERR_BUS_PRODUCER_FENCED', retriable: false },
  PRODUCER_FENCED: { code: 'CM_ERR_BUS_PRODUCER_FENCED', retriable: false },
  UNKNOWN_PRODUCER_ID: { code: 'CM_ERR_BUS_PRODUCER_FENCED', retriable: false },
});

/** kafkajs client error classes (`error.name`). */
export const KAFKA_CLIENT_ERROR_TABLE: Readonly<Record<string, KafkaErrorMapping>> = Object.freeze({
  KafkaJSConnectionError: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  KafkaJSConnectionClosedError: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  KafkaJSNoBrokerAvailableError: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  KafkaJSBrokerNotFound: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  KafkaJSGroupCoordinatorNotFound: { code: 'CM_ERR_BUS_BROKER_UNAVAILABLE', retriable: true },
  KafkaJSRequestTimeoutError: { code: 'CM_ERR_BUS_TIMEOUT', retriable: true },
  KafkaJSTimeout: { code: 'CM_ERR_BUS_TIMEOUT', retriable: true },
  KafkaJSLockTimeout: { code: 'CM_ERR_BUS_TIMEOUT', retriable: true },
  KafkaJSTopicMetadataNotLoaded: { code: 'CM_ERR_BUS_UNKNOWN_TOPIC', retriable: false },
  KafkaJSServerDoesNotSupportApiKey: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  KafkaJSNotImplemented: { code: 'CM_ERR_BUS_INVALID_REQUEST', retriable: false },
  KafkaJSSASLAuthenticationError: { code: 'CM_ERR_BUS_NOT_AUTHORIZED', retriable: false },
});

interface KafkaLikeError {
  name?: string;
  type?: string;
  message?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

/** Finds the most specific row for an error, looking through kafkajs wrappers (retries exceeded, aggregates). */
function lookup(error: unknown, depth = 0): { mapping: KafkaErrorMapping; source: KafkaLikeError } | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const candidate = error as KafkaLikeError;
  const byType = candidate.type === undefined ? undefined : KAFKA_BROKER_ERROR_TABLE[candidate.type];
  if (byType) return { mapping: byType, source: candidate };
  const nested =
    lookup(candidate.cause, depth + 1) ?? candidate.errors?.map((inner) => lookup(inner, depth + 1)).find(Boolean);
  if (nested) return nested;
  const byName = candidate.name === undefined ? undefined : KAFKA_CLIENT_ERROR_TABLE[candidate.name];
  return byName ? { mapping: byName, source: candidate } : undefined;
}

/**
 * Wraps anything kafkajs threw into a {@link BusError} with a stable code; BusErrors pass through.
 * Unknown errors become `CM_ERR_BUS_BROKER_ERROR` and keep kafkajs's own `retriable` flag.
 */
export function toBusError(error: unknown, operation: string, context: BusErrorContext = {}): BusError {
  if (error instanceof BusError) return error;
  const found = lookup(error);
  const raw = error as KafkaLikeError | undefined;
  const message = `${operation} failed: ${raw?.message ?? String(error)}`;
  if (!found)
    return new BusError('CM_ERR_BUS_BROKER_ERROR', message, {
      cause: error,
      retriable: raw?.retriable === true,
      context: { ...context, kafkaErrorName: raw?.name },
    });
  const retriable = found.mapping.retriable === 'kafkajs' ? found.source.retriable === true : found.mapping.retriable;
  return new BusError(found.mapping.code, message, {
    cause: error,
    retriable,
    context: { ...context, kafkaErrorName: found.source.name, kafkaErrorType: found.source.type },
  });
}
