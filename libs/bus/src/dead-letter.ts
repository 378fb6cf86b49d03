/**
 * The one dead-letter builder: the envelope of a record that failed, and the record that carries it to the twin.
 * The bus (a handler that kept throwing) and the runtime (a record that could not be decoded) both park records
 * through here, so every dead letter has the same fields and the same header.
 */
import type { BusRecord, DeadLetterEnvelope, OutgoingRecord } from './types.js';

/** Header on dead-letter records naming the failure's code, so tools can filter without decoding. */
export const DEAD_LETTER_ERROR_CODE_HEADER = 'chatmesh-dlq-error-code';

/**
 * The name the runtime's undecodable-record path used before there was one builder. Records parked with it stay on
 * the twins for 30 days, so readers accept it ({@link deadLetterErrorCodeOf}); nothing writes it any more.
 */
export const LEGACY_DEAD_LETTER_ERROR_CODE_HEADER = 'x-chatmesh-error-code';

/** Why and by whom a record was parked. */
export interface DeadLetterFailure {
  readonly groupId: string;
  readonly errorCode: string;
  readonly error: unknown;
  readonly attempts: number;
  /** @default Date.now() */
  readonly failedAtMs?: number;
}

/** The envelope of `record` that failed as `failure` says. */
export function deadLetterEnvelopeOf(record: BusRecord, failure: DeadLetterFailure): DeadLetterEnvelope {
  const { error } = failure;
  return {
    originalTopic: record.topic,
    originalPartition: record.partition,
    originalOffset: record.offset,
    originalKey: record.key,
    originalValue: record.value,
    originalHeaders: record.headers,
    originalTimestampMs: record.timestampMs,
    groupId: failure.groupId,
    errorCode: failure.errorCode,
    errorMessage: error instanceof Error ? error.message : String(error),
    attempts: failure.attempts,
    failedAtMs: failure.failedAtMs ?? Date.now(),
  };
}

/** The record that carries an encoded envelope to the twin: the original key, and the error code as a header. */
export function deadLetterRecordOf(envelope: DeadLetterEnvelope, encoded: Buffer): OutgoingRecord {
  return {
    key: envelope.originalKey,
    value: encoded,
    headers: { [DEAD_LETTER_ERROR_CODE_HEADER]: envelope.errorCode },
  };
}

/** The error code a dead-letter record's headers name (either header name), or undefined. */
export function deadLetterErrorCodeOf(headers: Readonly<Record<string, string>>): string | undefined {
  return headers[DEAD_LETTER_ERROR_CODE_HEADER] ?? headers[LEGACY_DEAD_LETTER_ERROR_CODE_HEADER];
}
