/**
 * The codec contract shared by the runtime (which encodes and decodes topic records) and the
 * implementations in this package: one against a Confluent-compatible registry through
 * `@kafkajs/confluent-schema-registry`, one local (embedded mode) built from `schemas/`.
 * Both produce Confluent's wire format: magic byte 0, a 4-byte big-endian schema id, Avro binary.
 */

/** A decoded record and the schema it was written with. */
export interface DecodedValue<T = unknown> {
  readonly value: T;
  /** The registry id from the 5-byte header. */
  readonly schemaId: number;
}

export interface SchemaCodec {
  /**
   * Registers (or finds) every subject's current schema so that encode/decode never block on
   * the registry on a hot path. Call once at start.
   */
  prepare(subjects: readonly string[]): Promise<void>;
  /**
   * Encodes `value` with the current schema of `subject` (TopicNameStrategy: `<topic>-value`).
   * @throws ChatmeshError CM_ERR_SCHEMA_ENCODE when the value does not match the schema.
   */
  encode(subject: string, value: unknown): Promise<Buffer>;
  /**
   * Decodes Confluent-framed bytes with the writer's schema (by id) resolved to the reader schema.
   * @throws ChatmeshError CM_ERR_SCHEMA_DECODE for bad framing, unknown ids or corrupt bodies (not retriable).
   */
  decode<T = unknown>(bytes: Buffer): Promise<DecodedValue<T>>;
}
