import avro from 'avsc';
import { ChatmeshError } from '@chatmesh/errors';
import { SCHEMA_HISTORY } from './__generated__/index.js';
import type { EmbeddedSchemaVersion } from './schema-history-types.js';
import type { AvroSchemaJson } from './schema-files.js';

/**
 * The options every avsc type in chatmesh is built with, so the codecs, the generated types and plain
 * avsc readers agree on value shapes. `wrapUnions: 'auto'` is avsc's default (and what
 * @kafkajs/confluent-schema-registry uses): unions of records are wrapped, `["null", X]` is not.
 */
export function avscOptions(): Partial<avro.ForSchemaOptions> {
  // A fresh object each time: avsc stores its type registry in the options it is given.
  return { wrapUnions: 'auto' };
}

/** Every version of a top-level record, oldest first. @throws ChatmeshError CM_ERR_SCHEMA_UNKNOWN_SUBJECT */
export function schemaVersionsOf(fullName: string): readonly EmbeddedSchemaVersion[] {
  const versions = SCHEMA_HISTORY[fullName];
  if (versions === undefined || versions.length === 0) {
    throw new ChatmeshError('CM_ERR_SCHEMA_UNKNOWN_SUBJECT', `no schema named ${fullName} in schemas/`, {
      context: { fullName },
    });
  }
  return versions;
}

/** The current (latest) schema JSON of a top-level record. @throws ChatmeshError CM_ERR_SCHEMA_UNKNOWN_SUBJECT */
export function latestSchemaOf(fullName: string): AvroSchemaJson {
  const versions = schemaVersionsOf(fullName);
  return (versions[versions.length - 1] as EmbeddedSchemaVersion).schema;
}

const typeCache = new Map<string, avro.Type>();

/** The avsc type of the current version of a top-level record (cached). */
export function latestTypeOf(fullName: string): avro.Type {
  let type = typeCache.get(fullName);
  if (type === undefined) {
    type = avro.Type.forSchema(latestSchemaOf(fullName) as avro.Schema, avscOptions());
    typeCache.set(fullName, type);
  }
  return type;
}
