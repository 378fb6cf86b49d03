import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';
import { CONFLUENT_ERRORS, type ConfluentErrorBody, type ConfluentErrorKind } from './confluent-errors.js';

const CODE_OF: Readonly<Record<ConfluentErrorKind, ErrorCode>> = {
  SUBJECT_NOT_FOUND: 'CM_ERR_SCHEMA_UNKNOWN_SUBJECT',
  VERSION_NOT_FOUND: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  SCHEMA_NOT_FOUND: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  SUBJECT_COMPATIBILITY_NOT_CONFIGURED: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  ROUTE_NOT_FOUND: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  METHOD_NOT_ALLOWED: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  BAD_REQUEST: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  INCOMPATIBLE_SCHEMA: 'CM_ERR_SCHEMA_INCOMPATIBLE',
  INVALID_SCHEMA: 'CM_ERR_SCHEMA_INVALID',
  INVALID_VERSION: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  INVALID_COMPATIBILITY_LEVEL: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  UNPROCESSABLE_ENTITY: 'CM_ERR_SCHEMA_REGISTRY_REJECTED',
  STORE_ERROR: 'CM_ERR_SCHEMA_REGISTRY_STORE_UNAVAILABLE',
  OPERATION_TIMEOUT: 'CM_ERR_SCHEMA_REGISTRY_STORE_UNAVAILABLE',
  NOT_READY: 'CM_ERR_SCHEMA_REGISTRY_STORE_UNAVAILABLE',
};

/**
 * A refusal or failure of a registry operation, carrying the HTTP status and Confluent `error_code`
 * the REST layer answers with, and the matching chatmesh code.
 */
export class RegistryApiError extends ChatmeshError {
  override readonly name = 'RegistryApiError';
  readonly kind: ConfluentErrorKind;
  readonly httpStatus: number;
  readonly confluentErrorCode: number;

  constructor(kind: ConfluentErrorKind, message: string, options: ChatmeshErrorOptions = {}) {
    const { status, errorCode } = CONFLUENT_ERRORS[kind];
    super(CODE_OF[kind], message, { ...options, context: { kind, status, errorCode, ...options.context } });
    this.kind = kind;
    this.httpStatus = status;
    this.confluentErrorCode = errorCode;
  }

  /** The JSON body Confluent's registry would send. */
  toBody(): ConfluentErrorBody {
    return { error_code: this.confluentErrorCode, message: this.message };
  }
}

/** `_schemas` could not be read or written (CM_ERR_SCHEMA_REGISTRY_STORE_UNAVAILABLE, retriable). */
export class SchemaStoreError extends ChatmeshError {
  override readonly name = 'SchemaStoreError';
  readonly topic: string;

  constructor(topic: string, message: string, options: ChatmeshErrorOptions = {}) {
    super('CM_ERR_SCHEMA_REGISTRY_STORE_UNAVAILABLE', message, { ...options, context: { topic, ...options.context } });
    this.topic = topic;
  }
}
