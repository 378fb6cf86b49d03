/**
 * Confluent Schema Registry's REST error codes, as data: the HTTP status and the
 * `error_code` the body carries, so clients written for Confluent's registry (e.g.
 * `@kafkajs/confluent-schema-registry`) see the answers they expect.
 */
export const CONFLUENT_ERRORS = {
  SUBJECT_NOT_FOUND: { status: 404, errorCode: 40401 },
  VERSION_NOT_FOUND: { status: 404, errorCode: 40402 },
  SCHEMA_NOT_FOUND: { status: 404, errorCode: 40403 },
  SUBJECT_COMPATIBILITY_NOT_CONFIGURED: { status: 404, errorCode: 40408 },
  ROUTE_NOT_FOUND: { status: 404, errorCode: 404 },
  METHOD_NOT_ALLOWED: { status: 405, errorCode: 405 },
  BAD_REQUEST: { status: 400, errorCode: 400 },
  INCOMPATIBLE_SCHEMA: { status: 409, errorCode: 409 },
  INVALID_SCHEMA: { status: 422, errorCode: 42201 },
  INVALID_VERSION: { status: 422, errorCode: 42202 },
  INVALID_COMPATIBILITY_LEVEL: { status: 422, errorCode: 42203 },
  UNPROCESSABLE_ENTITY: { status: 422, errorCode: 422 },
  STORE_ERROR: { status: 500, errorCode: 50001 },
  OPERATION_TIMEOUT: { status: 500, errorCode: 50002 },
  // Not Confluent's: answered until the store has read `_schemas` to the end, so no stale view is served.
  NOT_READY: { status: 503, errorCode: 50003 },
} as const satisfies Record<string, { status: number; errorCode: number }>;

/** A row name of {@link CONFLUENT_ERRORS}. */
export type ConfluentErrorKind = keyof typeof CONFLUENT_ERRORS;

/** The body Confluent's registry sends with every error. */
export interface ConfluentErrorBody {
  readonly error_code: number;
  readonly message: string;
}
