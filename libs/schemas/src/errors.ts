import { ChatmeshError, type ChatmeshErrorOptions, type ErrorCode } from '@chatmesh/errors';

/** Why a frame could not be decoded; machine-readable, in `context.reason` and {@link SchemaDecodeError.reason}. */
export type DecodeFailure =
  'short-buffer' | 'bad-magic-byte' | 'unknown-schema-id' | 'corrupt-body' | 'unreadable-writer';

/** A value did not match its subject's schema (CM_ERR_SCHEMA_ENCODE); never retriable. */
export class SchemaEncodeError extends ChatmeshError {
  override readonly name = 'SchemaEncodeError';
  readonly subject: string;
  /** Field paths avsc found invalid, e.g. `['origin', 'userId']`. */
  readonly paths: readonly string[][];

  constructor(subject: string, paths: readonly string[][], options: ChatmeshErrorOptions = {}) {
    const where = paths.length === 0 ? '' : ` at ${paths.map((path) => path.join('.')).join(', ')}`;
    super('CM_ERR_SCHEMA_ENCODE', `value does not match the schema of ${subject}${where}`, {
      ...options,
      context: { subject, paths, ...options.context },
    });
    this.subject = subject;
    this.paths = paths;
  }
}

/** Bytes are not a readable Confluent frame (CM_ERR_SCHEMA_DECODE); never retriable: the record is poison. */
export class SchemaDecodeError extends ChatmeshError {
  override readonly name = 'SchemaDecodeError';
  readonly reason: DecodeFailure;
  /** The id from the header, when there was one. */
  readonly schemaId: number | undefined;

  constructor(reason: DecodeFailure, message: string, schemaId?: number, options: ChatmeshErrorOptions = {}) {
    super('CM_ERR_SCHEMA_DECODE', message, {
      ...options,
      retriable: false,
      context: { reason, schemaId, ...options.context },
    });
    this.reason = reason;
    this.schemaId = schemaId;
  }
}

/** The registry failed or refused (CM_ERR_SCHEMA_REGISTRY_UNAVAILABLE retriable, CM_ERR_SCHEMA_REGISTRY_REJECTED not). */
export class SchemaRegistryError extends ChatmeshError {
  override readonly name = 'SchemaRegistryError';
  /** HTTP status, when the registry answered. */
  readonly status: number | undefined;

  constructor(
    code: Extract<
      ErrorCode,
      'CM_ERR_SCHEMA_REGISTRY_UNAVAILABLE' | 'CM_ERR_SCHEMA_REGISTRY_REJECTED' | 'CM_ERR_SCHEMA_INCOMPATIBLE'
    >,
    message: string,
    status: number | undefined,
    options: ChatmeshErrorOptions = {},
  ) {
    super(code, message, { ...options, context: { status, ...options.context } });
    this.status = status;
  }
}
