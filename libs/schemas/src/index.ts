/**
 * @chatmesh/schemas: the Avro schemas of every topic record, the topic table, generated types
 * and the Confluent-framed codec.
 */
export type { SchemaCodec, DecodedValue } from './codec-types.js';
