import avro from 'avsc';
import { SCHEMA_HISTORY } from './__generated__/index.js';
import { checkReaderCanRead } from './compatibility.js';
import { SchemaRegistryError } from './errors.js';
import type { AvroSchemaJson } from './schema-files.js';
import { avscOptions } from './schema-catalog.js';

/** A schema registered under a subject. */
export interface LocalRegisteredSchema {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  readonly schema: AvroSchemaJson;
}

/**
 * An in-process registry with Confluent's semantics: ids are global (one id per distinct schema, shared
 * by every subject that registers it), versions are per subject and count from 1, registering a schema a
 * subject already has returns the existing version, and a new version must read the previous one
 * (BACKWARD). Ids are deterministic: every schema version in `schemas/` gets its id at construction, in
 * the order of full name then version, so two processes in embedded mode agree without talking.
 */
export class LocalSchemaRegistry {
  readonly #ids = new Map<string, number>();
  readonly #schemas = new Map<number, AvroSchemaJson>();
  readonly #subjects = new Map<string, LocalRegisteredSchema[]>();

  constructor() {
    for (const name of Object.keys(SCHEMA_HISTORY).sort()) {
      for (const version of SCHEMA_HISTORY[name] ?? []) this.#idFor(version.schema);
    }
  }

  /**
   * Registers `schema` under `subject` (or returns the version it already is).
   * @throws SchemaRegistryError CM_ERR_SCHEMA_INCOMPATIBLE when it cannot read the subject's latest version.
   * @throws ChatmeshError CM_ERR_SCHEMA_INVALID when it is not valid Avro.
   */
  register(subject: string, schema: AvroSchemaJson): LocalRegisteredSchema {
    const existing = this.lookup(subject, schema);
    if (existing !== undefined) return existing;
    avro.Type.forSchema(schema as avro.Schema, avscOptions());
    const versions = this.#subjects.get(subject) ?? [];
    const latest = versions[versions.length - 1];
    if (latest !== undefined) {
      const reasons = checkReaderCanRead(schema, latest.schema);
      if (reasons.length > 0) {
        throw new SchemaRegistryError(
          'CM_ERR_SCHEMA_INCOMPATIBLE',
          `schema is incompatible with version ${latest.version} of ${subject}: ${reasons.join('; ')}`,
          409,
          { context: { subject, reasons } },
        );
      }
    }
    const entry = Object.freeze({ subject, version: versions.length + 1, id: this.#idFor(schema), schema });
    versions.push(entry);
    this.#subjects.set(subject, versions);
    return entry;
  }

  /** The version of `subject` that is exactly `schema`, if any. */
  lookup(subject: string, schema: AvroSchemaJson): LocalRegisteredSchema | undefined {
    const key = canonical(schema);
    return this.#subjects.get(subject)?.find((entry) => canonical(entry.schema) === key);
  }

  /** The schema with a global id, if any. */
  schemaById(id: number): AvroSchemaJson | undefined {
    return this.#schemas.get(id);
  }

  /** Every version of a subject, oldest first (empty for an unknown subject). */
  versionsOf(subject: string): readonly LocalRegisteredSchema[] {
    return this.#subjects.get(subject) ?? [];
  }

  /** Subjects with at least one version, sorted. */
  subjects(): string[] {
    return [...this.#subjects.keys()].sort();
  }

  #idFor(schema: AvroSchemaJson): number {
    const key = canonical(schema);
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#ids.size + 1;
      this.#ids.set(key, id);
      this.#schemas.set(id, schema);
    }
    return id;
  }
}

function canonical(schema: AvroSchemaJson): string {
  return JSON.stringify(schema);
}
