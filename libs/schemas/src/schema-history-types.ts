import type { AvroSchemaJson } from './schema-files.js';

/** One version of a top-level record as embedded in the generated code. */
export interface EmbeddedSchemaVersion {
  readonly version: number;
  /** Where it lives under `schemas/`. */
  readonly path: string;
  readonly schema: AvroSchemaJson;
}

/** Every version of every top-level record, oldest first, by full name. */
export type SchemaHistory = Readonly<Record<string, readonly EmbeddedSchemaVersion[]>>;
